"""snapshots_verify: snapshots/services.py and its management command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from districts.dashboard.client import DashboardClient
from districts.dashboard.collect import collect_district
from snapshots import store
from snapshots.models import Snapshot
from snapshots.services import snapshots_verify
from tests.snapshots.factories import SnapshotFactory, full_statistics

DAY = date(2025, 3, 10)
pytestmark = pytest.mark.django_db


def finalized_snapshot(root):
    """A finalized snapshot of DAY with districts 42 and 61; its directory under `root`."""
    for district_id in ("42", "61"):
        store.write_district(logical_date=DAY, statistics=full_statistics(district_id=district_id))
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors={"7": {"errorType": "fetch_failed", "message": "HTTP 500"}},
    )
    return root / DAY.isoformat()


@pytest.fixture
def snapshot(store_root):
    """The snapshot on each backend of the store (filesystem, S3)."""
    return finalized_snapshot(store_root)


@pytest.fixture
def snapshot_on_disk(snapshot_root):
    """The snapshot on the filesystem, for what only files have (pids, mtimes)."""
    return finalized_snapshot(snapshot_root)


def kinds(report) -> list[str]:
    return sorted(p.kind for p in report.found)


def verify_command(*args: str) -> str:
    out = StringIO()
    call_command("snapshots_verify", *args, stdout=out)
    return out.getvalue()


def test_a_consistent_store_has_no_problems(snapshot):
    assert snapshots_verify().found == ()
    assert "1 dates: 0 problems found" in verify_command()


def test_a_missing_district_file_makes_the_repaired_manifest_partial_naming_it(snapshot):
    # Issue 9 finding 6: the rebuilt manifest said `success` for fewer districts than its scope.
    (snapshot / "district_61.json").unlink()
    assert kinds(snapshots_verify()) == ["file_missing"]

    report = snapshots_verify(repair=True)
    assert report.remaining == ()
    manifest = store.read_manifest(logical_date=DAY)
    assert [f["districtId"] for f in manifest["files"]] == ["42"]
    assert manifest["status"] == "partial_success"
    errors = {e["districtId"]: e["errorType"] for e in manifest["errors"]}
    assert errors == {"7": "fetch_failed", "61": "file_missing"}  # recorded errors survive
    assert manifest["scope"] == ["42", "61"]
    row = Snapshot.objects.get(logical_date=DAY)
    assert (row.district_count, row.status) == (1, "partial_success")


def test_a_changed_district_file_is_reported_as_tampered_and_never_rehashed(snapshot):
    path = snapshot / "district_42.json"
    recorded = store.read_manifest(logical_date=DAY)["files"][0]
    data = json.loads(path.read_bytes())
    data["region"] = "99"
    path.write_text(json.dumps(data))
    assert kinds(snapshots_verify()) == ["tampered"]

    report = snapshots_verify(repair=True)
    assert [p.kind for p in report.remaining] == ["tampered"]
    assert store.read_manifest(logical_date=DAY)["files"][0] == recorded
    with pytest.raises(CommandError, match="problems remain"):
        verify_command("--repair")


def test_a_rebuild_for_another_reason_keeps_a_tampered_file_s_recorded_checksum(snapshot):
    (snapshot / "district_61.json").unlink()
    path = snapshot / "district_42.json"
    recorded = store.read_manifest(logical_date=DAY)["files"][0]
    path.write_text(path.read_text().replace('"full"', '"full" '))
    snapshots_verify(repair=True)
    assert store.read_manifest(logical_date=DAY)["files"] == [recorded]
    assert "tampered" in kinds(snapshots_verify())


def test_a_file_holding_another_district_than_its_name_is_refused(snapshot):
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="F"))
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61", "F"],
        job_id=None,
        district_errors={},
    )
    (snapshot / "district_7.json").write_bytes((snapshot / "district_F.json").read_bytes())
    assert kinds(snapshots_verify()) == ["district_mismatch"]

    report = snapshots_verify(repair=True)
    assert [p.kind for p in report.remaining] == ["district_mismatch"]
    manifest = store.read_manifest(logical_date=DAY)
    assert "7" not in [f["districtId"] for f in manifest["files"]]
    with pytest.raises(store.SnapshotStoreError, match="holds district F"):
        store.read_district(logical_date=DAY, district_id="7")


def test_a_truncated_manifest_is_rebuilt_with_its_job_id_and_scope(snapshot):
    job_id = "0b7f6a38-5c1b-4d7e-9a43-0f7c8a1d2e3f"
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=job_id,
        district_errors={},
    )
    path = snapshot / "manifest.json"
    path.write_bytes(path.read_bytes()[:40])
    assert "manifest_invalid" in kinds(snapshots_verify())

    assert snapshots_verify(repair=True).remaining == ()
    manifest = store.read_manifest(logical_date=DAY)
    assert (manifest["jobId"], manifest["scope"]) == (job_id, ["42", "61"])
    assert manifest["collectionStrategy"] == "per-district"


def test_a_district_written_after_the_manifest_is_an_extra_file(snapshot):
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="F"))
    assert kinds(snapshots_verify()) == ["file_extra"]
    snapshots_verify(repair=True)
    assert store.read_manifest(logical_date=DAY)["detailLevels"] == {
        "42": "full",
        "61": "full",
        "F": "full",
    }


def test_a_date_without_manifest_gets_one_rebuilt_from_its_files(snapshot):
    (snapshot / "manifest.json").unlink()
    Snapshot.objects.all().delete()
    assert kinds(snapshots_verify()) == ["manifest_missing"]

    out = verify_command("--repair")
    assert "repaired 1 of 1 problems" in out
    manifest = store.read_manifest(logical_date=DAY)
    assert manifest["status"] == "completed"
    assert manifest["collectionStrategy"] == "unknown"
    assert Snapshot.objects.get(logical_date=DAY).district_count == 2


def test_index_rows_are_checked_against_the_manifests(snapshot):
    Snapshot.objects.filter(logical_date=DAY).update(status="completed", size_bytes=1)
    SnapshotFactory(logical_date=date(2025, 1, 1))
    assert kinds(snapshots_verify()) == ["index_orphan", "index_stale"]

    assert snapshots_verify(repair=True).remaining == ()
    row = Snapshot.objects.get()
    assert (row.logical_date, row.status) == (DAY, "partial_success")


def test_a_missing_index_row_is_restored(snapshot):
    Snapshot.objects.all().delete()
    assert kinds(snapshots_verify()) == ["index_missing"]
    snapshots_verify(repair=True)
    assert Snapshot.objects.get().logical_date == DAY


def test_temporary_files_of_dead_writers_are_reported_and_removed(snapshot):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    host = store.layout.HOST
    leftover = snapshot / f".district_9.json.{host}.{int(finished.stdout)}.00ff00ff.tmp"
    leftover.write_bytes(b"{")
    assert kinds(snapshots_verify()) == ["temp_leftover"]
    assert snapshots_verify(repair=True).remaining == ()
    assert not leftover.exists()


def test_an_unreadable_district_file_cannot_be_repaired_and_fails_the_command(snapshot):
    (snapshot / "district_61.json").write_bytes(b'{"district_id": "61", "logi')
    with pytest.raises(CommandError, match="problems remain"):
        verify_command("--repair")
    remaining = snapshots_verify().found
    assert "file_corrupt" in [p.kind for p in remaining]


@pytest.mark.parametrize("name", ["district_42.json.tmp", "manifest.json.1234.tmp", "x.tmp"])
def test_temporary_files_of_any_name_are_reported_and_removed_once_no_writer_can_own_them(
    snapshot_on_disk, name
):
    stray = snapshot_on_disk / name
    stray.write_bytes(b"{")
    assert kinds(snapshots_verify()) == ["temp_file"]  # young: its writer may be alive
    assert [p.kind for p in snapshots_verify(repair=True).remaining] == ["temp_file"]
    assert stray.exists()

    old = time.time() - store.STALE_TEMP_SECONDS - 60
    os.utime(stray, (old, old))
    assert kinds(snapshots_verify()) == ["temp_leftover"]
    assert snapshots_verify(repair=True).remaining == ()
    assert not stray.exists()


@pytest.fixture
def collected(store_root, simulator):
    """District 42 of DAY collected from the simulator as a unit would: raw exports archived,
    the district file written, the snapshot finalized."""
    with DashboardClient(base_url=simulator.base_url) as client:
        result = collect_district(client, district_id="42", logical_date=DAY)
    for report, data in result.raw.items():
        store.archive_raw_csv(as_of=result.as_of, report=report, district_id="42", data=data)
    store.write_district(logical_date=DAY, statistics=result.statistics)
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42"],
        job_id=None,
        district_errors={},
    )
    return store_root / DAY.isoformat() / "district_42.json"


def test_repair_restores_a_missing_district_file_from_the_raw_archive(collected):
    published = collected.read_bytes()
    collected.unlink()
    assert kinds(snapshots_verify()) == ["file_missing"]

    assert snapshots_verify(repair=True).remaining == ()
    assert collected.read_bytes() == published  # byte for byte the published file
    assert store.read_manifest(logical_date=DAY)["status"] == "completed"


def test_repair_restores_a_tampered_district_file_from_the_raw_archive(collected):
    published = collected.read_bytes()
    collected.write_bytes(published.replace(b'"42"', b'"42" ', 1))
    assert kinds(snapshots_verify()) == ["tampered"]
    assert snapshots_verify(repair=True).remaining == ()
    assert collected.read_bytes() == published


def test_an_archive_that_does_not_rebuild_the_published_file_restores_nothing(collected):
    collected.unlink()
    for raw in (collected.parents[1] / "raw").rglob("*.csv"):
        rows = raw.read_bytes().splitlines(keepends=True)
        raw.write_bytes(b"".join(rows[:1] + rows[2:]))  # one club fewer
    report = snapshots_verify(repair=True)
    assert not collected.exists()
    manifest = store.read_manifest(logical_date=DAY)
    assert manifest["status"] == "failed"  # nothing left: not restored from an unproven source
    assert report.remaining == ()
