"""snapshots/store/ on an S3 bucket: what only a bucket has (settings, prefix, health, errors,
the ETag cache, stray temporary objects); a job whose workers write to it is in
tests/e2e/test_store_s3_workers.py. The store's contract on both backends is in test_store.py,
test_verify.py and tests/e2e/test_crash_safety.py."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from backfill_project.settings import snapshot_storage
from snapshots import performance, store
from snapshots.selectors import store_health
from snapshots.services import snapshots_verify
from tests.fixtures.s3 import ObjectPath
from tests.snapshots.factories import DistrictStatisticsFactory, full_statistics

DAY = date(2025, 3, 10)


def use_bucket(settings, s3_server, bucket: str, prefix: str = "") -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": snapshot_storage(
            kind="s3",
            root=Path(),
            bucket=bucket,
            prefix=prefix,
            endpoint_url=s3_server.endpoint_url,
        ),
    }


def test_the_settings_build_an_s3_storage_and_refuse_an_incomplete_one():
    entry = snapshot_storage(
        kind="s3",
        root=Path("/unused"),
        bucket="district-snapshots",
        prefix="prod",
        endpoint_url="http://minio:9000",
        region="eu-west-1",
        addressing_style="path",
    )
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    options = entry["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == ("district-snapshots", "prod")
    assert (options["endpoint_url"], options["region_name"]) == ("http://minio:9000", "eu-west-1")
    assert options["file_overwrite"] is True
    assert options["client_config"].s3 == {"addressing_style": "path"}
    assert snapshot_storage(kind="filesystem", root=Path("/srv/snapshots")) == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": "/srv/snapshots"},
    }
    with pytest.raises(ImproperlyConfigured, match="SNAPSHOT_S3_BUCKET"):
        snapshot_storage(kind="s3", root=Path())
    with pytest.raises(ImproperlyConfigured, match="`filesystem` or `s3`"):
        snapshot_storage(kind="gcs", root=Path())


@pytest.mark.django_db
def test_a_prefix_keeps_the_store_inside_its_part_of_the_bucket(settings, s3_server, s3_root):
    use_bucket(settings, s3_server, s3_root.bucket, prefix="teams/prod")
    store.write_district(logical_date=DAY, statistics=full_statistics())
    store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"a")
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42"],
        job_id=None,
        district_errors={},
    )
    (s3_root / "2025-01-01" / "district_7.json").write_bytes(b"{}")  # outside the prefix

    keys = sorted(p.key for p in s3_root.glob("teams/prod/**/*"))
    assert keys == [
        "teams/prod/2025-03-10/district_42.json",
        "teams/prod/2025-03-10/manifest.json",
        "teams/prod/raw/2025-03-10/districtsummary/all.csv",
    ]
    assert store.stored_dates() == [DAY]
    assert store.root_status().location.startswith(f"s3://{s3_root.bucket}/teams/prod at http")
    assert snapshots_verify().found == ()


@pytest.mark.django_db
def test_the_health_of_a_bucket_is_writable_without_free_space_and_leaves_no_probe(
    s3_root, s3_server
):
    status = store.root_status()
    assert status.location == f"s3://{s3_root.bucket}/ at {s3_server.endpoint_url}"
    assert status.writable and status.free_space_bytes is None
    health = store_health()
    assert health.healthy, health.problems
    assert s3_root.glob("**/*") == []


@pytest.mark.django_db
def test_a_missing_bucket_is_a_store_error_never_an_empty_store(settings, s3_server, s3_root):
    use_bucket(settings, s3_server, f"absent-{uuid.uuid4().hex[:12]}")
    with pytest.raises(store.SnapshotStoreError, match="NoSuchBucket"):
        store.read_district(logical_date=DAY, district_id="42")
    with pytest.raises(store.SnapshotStoreError, match="NoSuchBucket"):
        store.stored_dates()
    with pytest.raises(store.SnapshotStoreError, match="could not write"):
        store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"a")
    assert not store.root_status().writable
    health = store_health()
    assert not health.healthy
    assert any("cannot be listed" in p for p in health.problems)


def test_an_overwrite_never_deletes_the_object_first(s3_root, monkeypatch):
    """The generic path deleted an existing file before saving it again, so a reader on another
    host could find no file at all. S3Storage overwrites in one put."""
    storage = storages["snapshots"]
    deleted = []
    monkeypatch.setattr(storage, "delete", lambda name: deleted.append(name))
    for files in (store.backends.store_files(), store.object_storage.StorageFiles(storage)):
        files.write("2025-03-10/district_42.json", b"first")
        files.write("2025-03-10/district_42.json", b"second")
        assert (s3_root / "2025-03-10" / "district_42.json").read_bytes() == b"second"
    assert deleted == []


def test_an_unchanged_district_file_is_read_from_the_cache_and_a_changed_one_again(
    s3_root, monkeypatch
):
    hits = []
    monkeypatch.setattr(performance, "record_cache", lambda *, hit: hits.append(hit))
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory())
    first = store.read_district(logical_date=DAY, district_id="42")
    assert store.read_district(logical_date=DAY, district_id="42") == first
    assert hits[-1] is True  # a 304 for the known ETag: no body transferred

    # Another host replaces the file: the next read sees the new bytes at once.
    store.write_district(logical_date=DAY, statistics=full_statistics())
    assert store.read_district(logical_date=DAY, district_id="42") == full_statistics()
    assert hits[-1] is False


@pytest.mark.django_db
def test_objects_named_like_temporary_files_are_leftovers_and_repair_removes_them(s3_root):
    """Nothing writes temporary objects to a bucket; a `.tmp` object (copied along with a
    filesystem store) cannot belong to a live writer."""
    store.write_district(logical_date=DAY, statistics=full_statistics())
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["42"],
        job_id=None,
        district_errors={},
    )
    stray = s3_root / DAY.isoformat() / ".district_61.json.otherhost.123.abcd1234.tmp"
    stray.write_bytes(b"{")
    assert store.temp_files() == store.temp_leftovers() == [f"{DAY.isoformat()}/{stray.name}"]
    assert [p.kind for p in snapshots_verify().found] == ["temp_leftover"]
    assert snapshots_verify(repair=True).remaining == ()
    assert not stray.exists()


def test_object_paths_behave_like_paths_for_the_tests(s3_root):
    """The test helper itself: the `Path` methods the contract tests use."""
    (s3_root / "a" / "b.json").write_text("{}")
    (s3_root / "a" / "c" / "d.csv").write_bytes(b"x")
    assert isinstance(s3_root / "a", ObjectPath)
    assert (s3_root / "a").exists() and not (s3_root / "z").exists()
    assert [p.key for p in s3_root.glob("*/b.json")] == ["a/b.json"]
    assert [p.key for p in s3_root.rglob("*.csv")] == ["a/c/d.csv"]
    assert (s3_root / "a" / "c" / "d.csv").parents[1].key == "a"
    with pytest.raises(FileNotFoundError):
        (s3_root / "a" / "missing.json").read_bytes()


def test_the_date_lock_is_held_while_its_holder_lives_and_freed_when_it_died(s3_root, settings):
    """The Redis lock of a bucket's date: renewed while held past its lease; the lock of a
    holder that died (no renewal) frees itself within one lease."""
    settings.SNAPSHOT_LOCK_LEASE_SECONDS = 1
    files = store.backends.store_files()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with files.lock(DAY):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    threading.Timer(2.5, release.set).start()
    started = time.monotonic()
    store.write_district(logical_date=DAY, statistics=full_statistics())
    assert time.monotonic() - started >= 2.3  # waited for the live holder, past two leases
    holder.join()

    dead = store.object_storage.redis_client(settings.REDIS_URL).lock(
        f"snapshots:lock:{files.describe()}:{DAY.isoformat()}", timeout=1
    )
    assert dead.acquire(blocking=False)  # taken, never renewed, never released
    started = time.monotonic()
    store.write_district(logical_date=DAY, statistics=full_statistics(district_id="61"))
    assert time.monotonic() - started < 1.5
