"""snapshots/store/: round trip, detail levels, manifests, raw archive, atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from districts.dashboard.statistics import DuplicateRow
from snapshots import store
from snapshots.models import Snapshot
from tests.snapshots.factories import DistrictStatisticsFactory, full_statistics
from tests.snapshots.strategies import district_statistics

DAY = date(2025, 3, 10)


@hypothesis_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(statistics=district_statistics())
def test_what_is_written_is_read_back_equal(store_root, statistics):
    stored = store_root / statistics.logical_date.isoformat()
    # Examples share the root: a full file of an earlier example would keep this one out.
    (stored / f"district_{statistics.district_id}.json").unlink(missing_ok=True)
    written = store.write_district(logical_date=statistics.logical_date, statistics=statistics)
    read = store.read_district(
        logical_date=statistics.logical_date, district_id=statistics.district_id
    )
    assert read == statistics
    data = (stored / f"district_{statistics.district_id}.json").read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.size == len(data)
    assert store.district_file_bytes(statistics) == data


def test_read_of_an_unknown_district_or_date_is_none(store_root):
    assert store.read_district(logical_date=DAY, district_id="42") is None
    assert store.read_manifest(logical_date=DAY) is None
    assert store.list_districts(logical_date=DAY) == []


def test_full_detail_satisfies_a_summary_check_but_not_the_reverse(store_root):
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="7"))
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="8"))

    assert store.exists(logical_date=DAY, district_id="7", detail="summary")
    assert not store.exists(logical_date=DAY, district_id="7", detail="full")
    assert store.exists(logical_date=DAY, district_id="8", detail="summary")
    assert store.exists(logical_date=DAY, district_id="8", detail="full")
    assert not store.exists(logical_date=DAY, district_id="9", detail="summary")


def test_full_detail_replaces_a_stored_summary(store_root):
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory())
    written = store.write_district(logical_date=DAY, statistics=full_statistics())

    assert not written.kept_existing and written.detail == "full"
    assert store.read_district(logical_date=DAY, district_id="42") == full_statistics()


def test_summary_never_downgrades_a_stored_full_detail_file(store_root):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    written = store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory())

    assert written.kept_existing and written.detail == "full"
    assert store.read_district(logical_date=DAY, district_id="42") == full_statistics()


def test_concurrent_summary_and_full_writes_end_with_full_detail(store_root):
    full, summary = full_statistics(clubs=50), DistrictStatisticsFactory()
    barrier = threading.Barrier(2)

    def write(statistics):
        barrier.wait()
        for _ in range(20):
            store.write_district(logical_date=DAY, statistics=statistics)

    threads = [threading.Thread(target=write, args=(s,)) for s in (summary, full)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read_district(logical_date=DAY, district_id="42") == full


def test_statistics_of_another_date_are_refused(store_root):
    with pytest.raises(store.SnapshotStoreError, match="not 2025-03-11"):
        store.write_district(logical_date=date(2025, 3, 11), statistics=full_statistics())


def test_district_ids_that_could_escape_the_directory_are_refused(store_root):
    with pytest.raises(store.SnapshotStoreError, match="invalid district id"):
        store.write_district(
            logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="../x")
        )
    with pytest.raises(store.SnapshotStoreError):
        store.archive_raw_csv(as_of=DAY, report="../etc", district_id=None, data=b"x")


@pytest.mark.django_db
def test_finalize_lists_every_district_file_with_size_and_checksum(store_root):
    for district_id in ("61", "F", "42"):
        store.write_district(logical_date=DAY, statistics=full_statistics(district_id=district_id))
    manifest = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61", "F"],
        job_id="6f1d3b0e-8f43-4d8e-9d5c-2a7c1b9e0f11",
        district_errors={},
    )

    assert manifest["status"] == "completed"
    assert [f["districtId"] for f in manifest["files"]] == ["42", "61", "F"]
    for entry in manifest["files"]:
        data = (store_root / DAY.isoformat() / entry["file"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["detailLevels"] == {"42": "full", "61": "full", "F": "full"}
    assert manifest["asOfDate"] == "2025-03-10" and manifest["dataMonth"] == "2025-03"
    assert manifest["isClosingPeriod"] is False
    assert manifest["jobId"] == "6f1d3b0e-8f43-4d8e-9d5c-2a7c1b9e0f11"
    on_disk = json.loads((store_root / DAY.isoformat() / "manifest.json").read_bytes())
    assert on_disk == manifest == store.read_manifest(logical_date=DAY)

    row = Snapshot.objects.get(logical_date=DAY)
    assert (row.status, row.district_count, row.error_count) == ("completed", 3, 0)
    assert row.size_bytes == sum(f["size"] for f in manifest["files"])
    assert str(row.job_id) == manifest["jobId"]


@pytest.mark.django_db
def test_manifest_lists_conflicting_duplicate_club_rows_per_district(store_root):
    duplicate = DuplicateRow(
        report="clubperformance",
        club_number="00000038",
        kept_line=2,
        dropped_lines=(10, 12),
        reason="same club number with different cells: the first row in file order is kept",
    )
    with_duplicates = replace(full_statistics(district_id="61"), duplicate_rows=(duplicate,))
    store.write_district(logical_date=DAY, statistics=with_duplicates)
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="42"))

    manifest = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors={},
    )

    assert manifest["duplicates"] == {
        "61": [
            {
                "report": "clubperformance",
                "clubNumber": "00000038",
                "keptLine": 2,
                "droppedLines": [10, 12],
                "reason": duplicate.reason,
            }
        ]
    }
    assert store.read_district(logical_date=DAY, district_id="61") == with_duplicates


@pytest.mark.django_db
def test_errors_make_a_snapshot_partial_and_no_file_makes_it_failed(store_root):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    errors = {"61": {"errorType": "fetch_failed", "message": "HTTP 500"}}
    partial = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors=errors,
    )
    assert partial["status"] == "partial_success"
    assert partial["errors"] == [
        {"districtId": "61", "errorType": "fetch_failed", "message": "HTTP 500"}
    ]

    empty_day = date(2025, 3, 11)
    failed = store.finalize_snapshot(
        logical_date=empty_day,
        collection_strategy="system-wide",
        scope=[],
        job_id=None,
        district_errors={"*": {"errorType": "data_unavailable", "message": "no data"}},
    )
    assert failed["status"] == "failed" and failed["files"] == []
    assert Snapshot.objects.get(logical_date=empty_day).status == "failed"


@pytest.mark.django_db
def test_refinalizing_keeps_created_at_and_upgrades_the_status(store_root):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    first = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors={"61": {"errorType": "fetch_failed", "message": "HTTP 500"}},
    )
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="61"))
    second = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors={},
    )
    assert second["status"] == "completed" and second["errors"] == []
    assert second["createdAt"] == first["createdAt"]
    assert second["updatedAt"] >= first["updatedAt"]
    assert Snapshot.objects.count() == 1


@pytest.mark.django_db
def test_closing_period_fields_come_from_the_district_files(store_root):
    month_end = date(2024, 12, 31)
    statistics = DistrictStatisticsFactory(
        logical_date=month_end, as_of_date=date(2025, 1, 3), is_closing_period=True
    )
    store.write_district(logical_date=month_end, statistics=statistics)
    manifest = store.finalize_snapshot(
        logical_date=month_end,
        collection_strategy="system-wide",
        scope=[],
        job_id=None,
        district_errors={},
    )
    assert manifest["date"] == "2024-12-31" and manifest["asOfDate"] == "2025-01-03"
    assert manifest["dataMonth"] == "2024-12" and manifest["isClosingPeriod"] is True
    row = Snapshot.objects.get(logical_date=month_end)
    assert row.as_of_date == date(2025, 1, 3) and row.is_closing_period


def test_raw_csv_is_archived_as_downloaded(store_root):
    data = b"District,Clubs\r\n42,90\r\nMonth of Mar, As of 03/10/2025\r\n"
    name = store.archive_raw_csv(as_of=DAY, report="clubperformance", district_id="42", data=data)
    store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"all")

    assert name == "raw/2025-03-10/clubperformance/district_42.csv"
    assert (store_root / name).read_bytes() == data
    assert store.read_raw_csv(as_of=DAY, report="clubperformance", district_id="42") == data
    assert store.read_raw_csv(as_of=DAY, report="districtsummary", district_id=None) == b"all"
    assert store.read_raw_csv(as_of=DAY, report="clubperformance", district_id="61") is None


def recorded_fsyncs(monkeypatch) -> list[str]:
    """The paths fsynced from now on (each fsync still done)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced


def test_every_write_fsyncs_the_file_before_the_rename_and_the_directory_after(
    snapshot_root, monkeypatch
):
    synced = recorded_fsyncs(monkeypatch)
    store.write_district(logical_date=DAY, statistics=full_statistics())

    directory = str(snapshot_root / DAY.isoformat())
    temp_synced = [p for p in synced if p.startswith(directory + "/.district_42.json.")]
    assert temp_synced and temp_synced[0].endswith(".tmp")
    assert synced[-1] == directory
    assert str(snapshot_root) in synced  # the new date directory's entry


def test_deferred_directory_syncs_fsync_each_file_at_once_and_its_directory_once_on_leaving(
    snapshot_root, monkeypatch
):
    store.write_district(logical_date=DAY, statistics=full_statistics())  # the date exists
    synced = recorded_fsyncs(monkeypatch)
    directory = str(snapshot_root / DAY.isoformat())

    with store.deferred_directory_syncs():
        for district_id in ("1", "2", "3"):
            store.write_district(
                logical_date=DAY, statistics=DistrictStatisticsFactory(district_id=district_id)
            )
        assert len(synced) == 3 and all(path.endswith(".tmp") for path in synced)
        assert (snapshot_root / DAY.isoformat() / "district_3.json").exists()

    assert synced[3:] == [directory]
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="4"))
    assert synced[-1] == directory  # outside, after each write again


def test_a_deferred_directory_sync_that_fails_is_raised_on_leaving(snapshot_root, monkeypatch):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    directory = snapshot_root / DAY.isoformat()
    real_fsync = os.fsync

    def failing_on_directories(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_on_directories)
    written = False
    with (
        pytest.raises(store.SnapshotStoreError, match=f"could not fsync {directory}"),
        store.deferred_directory_syncs(),
    ):
        store.write_district(
            logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="1")
        )
        written = True  # the write itself did not sync the directory

    assert written


def test_a_failed_fsync_leaves_neither_a_file_nor_a_temporary_file(snapshot_root, monkeypatch):
    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="1"))
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(store.SnapshotStoreError, match="Input/output error"):
        store.write_district(logical_date=DAY, statistics=full_statistics())
    monkeypatch.undo()

    assert sorted(p.name for p in (snapshot_root / DAY.isoformat()).iterdir()) == [
        ".lock",
        "district_1.json",
    ]


@pytest.mark.django_db
def test_temporary_files_of_dead_writers_are_removed_by_the_next_finalize(snapshot_root):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    directory = snapshot_root / DAY.isoformat()
    leftover = directory / f".district_61.json.{store.layout.HOST}.{dead_pid}.abcd1234.tmp"
    leftover.write_bytes(b'{"district_id": "61", "log')
    alive = directory / f".district_62.json.{store.layout.HOST}.{os.getpid()}.abcd1234.tmp"
    alive.write_bytes(b"in progress")
    assert store.temp_leftovers() == [f"{DAY.isoformat()}/{leftover.name}"]

    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42"],
        job_id=None,
        district_errors={},
    )
    assert not leftover.exists()
    assert alive.exists()  # a live writer's file is left alone


@pytest.mark.django_db
def test_a_non_filesystem_storage_stores_and_reads_through_plain_saves(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory())
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="61"))
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="61"))
    store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"a,b")
    manifest = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=None,
        district_errors={},
    )

    assert [f["districtId"] for f in manifest["files"]] == ["42", "61"]
    assert store.read_manifest(logical_date=DAY) == manifest
    assert store.read_district(logical_date=DAY, district_id="61") == full_statistics(
        district_id="61"
    )
    assert store.exists(logical_date=DAY, district_id="61", detail="full")
    assert store.read_raw_csv(as_of=DAY, report="districtsummary", district_id=None) == b"a,b"
    assert store.stored_dates() == [DAY]


def test_a_reader_never_sees_a_partial_or_missing_file_while_it_is_replaced(store_root):
    """Atomic publish: while one thread replaces a large raw CSV and a district file over and
    over, another reads them; every read is one whole version, never a part and never none."""
    versions = {
        hashlib.sha256(data).hexdigest(): data
        for data in (b"District\r\n" + b"1" * 3_000_000, b"District\r\n" + b"2" * 2_000_000)
    }
    summary, full = DistrictStatisticsFactory(), full_statistics(clubs=200)
    raw = dict(as_of=DAY, report="clubperformance", district_id="42")
    store.archive_raw_csv(**raw, data=next(iter(versions.values())))
    store.write_district(logical_date=DAY, statistics=summary)
    stop = threading.Event()
    seen_raw, seen_districts = set(), []

    def read() -> None:
        while not stop.is_set():
            data = store.read_raw_csv(**raw)
            seen_raw.add(hashlib.sha256(data).hexdigest() if data is not None else None)
            seen_districts.append(store.read_district(logical_date=DAY, district_id="42"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_number in range(12):
            for data in versions.values():
                store.archive_raw_csv(**raw, data=data)
            store.write_district(logical_date=DAY, statistics=full if round_number % 2 else summary)
    finally:
        stop.set()
        reader.join()
    assert seen_raw and seen_raw <= set(versions)
    assert seen_districts and all(d in (summary, full) for d in seen_districts)


def test_archived_districts_lists_one_report_of_one_as_of_date(store_root):
    for district_id in ("42", "61", "F"):
        store.archive_raw_csv(
            as_of=DAY, report="clubperformance", district_id=district_id, data=b"x"
        )
    store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"all")
    store.archive_raw_csv(
        as_of=date(2025, 3, 11), report="clubperformance", district_id="7", data=b"x"
    )
    (store_root / "raw" / DAY.isoformat() / "clubperformance" / "notes.txt").write_bytes(b"")

    assert store.archived_districts(as_of=DAY, report="clubperformance") == {"42", "61", "F"}
    assert store.archived_districts(as_of=DAY, report="districtsummary") == {"*"}
    assert store.archived_districts(as_of=DAY, report="divisionperformance") == set()
    assert store.read_raw_csv(as_of=DAY, report="districtsummary", district_id=None) == b"all"


def test_documents_are_stored_beside_the_snapshots_and_read_back(store_root):
    payload = {"districtId": "42", "series": [{"date": "2025-03-10", "clubs": 90}]}
    stored = store.write_document(name="analytics/time-series/district_42.json", payload=payload)

    data = (store_root / "analytics" / "time-series" / "district_42.json").read_bytes()
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.read_document(name=stored.name) == payload
    assert store.read_document(name="analytics/rankings/2025-03-10.json") is None
    assert store.write_document(name=stored.name, payload=payload) == stored  # byte for byte
    with pytest.raises(store.SnapshotStoreError, match="invalid analytics document name"):
        store.read_document(name="analytics/../2025-03-10/manifest.json")
    assert store.stored_dates() == []  # analytics/ is not a date


def test_stored_dates_and_date_directories_come_from_listings(store_root):
    store.write_district(logical_date=DAY, statistics=full_statistics())
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="F"))
    store.write_district(
        logical_date=date(2024, 12, 31),
        statistics=DistrictStatisticsFactory(logical_date=date(2024, 12, 31)),
    )
    store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"a")
    stray = store_root / "not-a-date" / "district_1.json"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"{}")

    assert store.stored_dates() == [date(2024, 12, 31), DAY]
    assert store.list_districts(logical_date=DAY) == ["42", "F"]
    assert store.date_directory(logical_date=DAY) == store.DateDirectory(
        has_manifest=False, district_files=2
    )
    assert store.date_directory(logical_date=date(2025, 1, 1)) == store.DateDirectory(
        has_manifest=False, district_files=0
    )
