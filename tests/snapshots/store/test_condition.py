"""snapshots/store/condition.py: a store that cannot take writes (full, nearly full, read-only,
refused) is one condition of the whole store, remembered in Redis with when it began and the
free space, noticed before a write fails when the disk runs low, and cleared by a probe write
once there is room again. The store health endpoint reports it.

The store is made "nearly full" for real by raising SNAPSHOT_MIN_FREE_BYTES above the free space
of the test's disk; a real full filesystem (a 3 MB tmpfs) is in tests/faults/test_faults.py.
"""

from __future__ import annotations

import errno
import logging
import shutil
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from backfill_project.settings import snapshot_storage
from snapshots import store
from snapshots.store import errors as store_errors
from snapshots.store.condition import CONDITION_TTL_SECONDS, _key, _redis_client
from tests.snapshots.factories import full_statistics

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)
# More than any disk: every write leaves less than this free.
HUGE = 1 << 60


@pytest.fixture
def condition_cleared(settings, snapshot_root):
    yield
    store.clear_condition()


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "snapshots.store.condition" and r.levelno >= logging.WARNING
    ]


def test_a_write_that_would_leave_less_than_the_minimum_free_is_refused_and_leaves_nothing(
    settings, snapshot_root, condition_cleared
):
    settings.SNAPSHOT_MIN_FREE_BYTES = HUGE
    with pytest.raises(store.StoreUnwritable, match="SNAPSHOT_MIN_FREE_BYTES") as raised:
        store.write_district(logical_date=DAY, statistics=full_statistics())
    assert raised.value.reason == "low_space"
    assert list(snapshot_root.rglob("*.json")) == []
    assert store.temp_files() == []
    # Nothing is remembered by the store itself: the engine records what it hits.
    assert store.store_condition() is None

    settings.SNAPSHOT_MIN_FREE_BYTES = 0
    store.write_district(logical_date=DAY, statistics=full_statistics())
    assert store.read_district(logical_date=DAY, district_id="42") is not None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "full"),
        (errno.EDQUOT, "quota"),
        (errno.EROFS, "read_only"),
        (errno.EACCES, "denied"),
        (errno.EIO, None),
    ],
)
def test_os_errors_that_concern_the_whole_store_are_store_unwritable(code, reason):
    error = store_errors.write_error("could not write x", OSError(code, "the kernel says no"))
    if reason is None:
        assert type(error) is store.SnapshotStoreError  # one file's trouble, not the store's
    else:
        assert isinstance(error, store.StoreUnwritable)
        assert error.reason == reason


def test_the_condition_keeps_when_it_began_logs_one_warning_and_lapses_if_nobody_checks(
    settings, snapshot_root, condition_cleared, caplog
):
    caplog.set_level(logging.INFO)
    first = store.record_unwritable(
        store.StoreUnwritable("could not write a: [Errno 28] No space left", reason="full")
    )
    again = store.record_unwritable(
        store.StoreUnwritable("could not write b: [Errno 28] No space left", reason="full")
    )

    held = store.store_condition()
    assert held == again
    assert held.since == first.since
    assert held.checked_at >= first.checked_at
    assert held.location == str(snapshot_root)
    assert 0 < held.free_space_bytes <= shutil.disk_usage(snapshot_root).total
    assert held.message == "could not write a: [Errno 28] No space left"
    assert held.resume_at_bytes == first.resume_at_bytes  # the bar does not creep up
    assert "is full" in held.sentence and "bytes free" in held.sentence
    assert warnings_of(caplog) == [
        f"{first.sentence}: no unit is dispatched until it takes writes again "
        "(could not write a: [Errno 28] No space left)"
    ]
    assert (
        0
        < _redis_client(settings.REDIS_URL).ttl(_key(str(snapshot_root)))
        <= (CONDITION_TTL_SECONDS)
    )


def test_the_check_notices_a_disk_running_low_before_any_write_fails_and_clears_it_with_room(
    settings, snapshot_root, condition_cleared, caplog
):
    caplog.set_level(logging.INFO)
    settings.SNAPSHOT_MIN_FREE_BYTES = 0
    assert store.check_store() is None  # room enough: nothing recorded, nothing written
    assert list(snapshot_root.iterdir()) == []

    settings.SNAPSHOT_MIN_FREE_BYTES = HUGE
    held = store.check_store()
    assert held is not None and held.reason == "low_space"
    assert held.resume_at_bytes == 2 * HUGE
    assert store.check_store().since == held.since  # still low: the same condition
    assert len(warnings_of(caplog)) == 1

    settings.SNAPSHOT_MIN_FREE_BYTES = 1024  # space came back
    assert store.check_store() is None
    assert store.store_condition() is None
    assert list(snapshot_root.iterdir()) == []  # the probe file is gone
    ended = warnings_of(caplog)[1]
    assert ended.startswith(f"the snapshot store {snapshot_root} takes writes again after ")
    assert "dispatch resumes" in ended


def test_a_full_disk_stays_full_until_space_returns_with_a_margin(
    settings, snapshot_root, condition_cleared
):
    settings.SNAPSHOT_MIN_FREE_BYTES = 0
    held = store.record_unwritable(
        store.StoreUnwritable("could not write a: [Errno 28] No space left", reason="full")
    )
    # Writes resume only with a margin over what was free when they failed.
    assert held.resume_at_bytes == held.free_space_bytes + store.condition.RESUME_MARGIN_BYTES
    # Not that much free yet (a bar above any disk): still full, and not even probed.
    short = replace(held, resume_at_bytes=HUGE)
    _redis_client(settings.REDIS_URL).set(_key(held.location), store.condition._encode(short))
    assert store.check_store().resume_at_bytes == HUGE
    assert store.store_condition().since == held.since
    assert list(snapshot_root.iterdir()) == []

    # Space came back: the disk now has more free than the bar set when writes failed.
    returned = replace(held, resume_at_bytes=shutil.disk_usage(snapshot_root).free // 2)
    _redis_client(settings.REDIS_URL).set(_key(held.location), store.condition._encode(returned))
    assert store.check_store() is None
    assert store.store_condition() is None


def test_the_health_endpoint_reports_the_condition_with_the_free_space(
    settings, snapshot_root, condition_cleared, admin_client
):
    assert admin_client.get("/api/admin/snapshot-store/health").json()["condition"] is None

    settings.SNAPSHOT_MIN_FREE_BYTES = HUGE
    held = store.check_store()
    body = admin_client.get("/api/admin/snapshot-store/health").json()

    assert body["status"] == "degraded"
    assert body["writable"] is False
    assert body["condition"]["state"] == "low_space"
    assert body["condition"]["freeSpaceBytes"] == held.free_space_bytes
    assert body["condition"]["since"] == held.since.isoformat()
    assert body["condition"]["resumeAtBytes"] == 2 * HUGE
    assert any("is nearly full" in p and "no unit is dispatched" in p for p in body["problems"])


def test_a_bucket_that_refuses_writes_is_the_same_condition_without_a_free_space_figure(
    settings, s3_server, s3_root
):
    bucket = f"absent-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": snapshot_storage(
            kind="s3", root=Path(), bucket=bucket, endpoint_url=s3_server.endpoint_url
        ),
    }
    with pytest.raises(store.StoreUnwritable, match="NoSuchBucket") as raised:
        store.archive_raw_csv(as_of=DAY, report="districtsummary", district_id=None, data=b"a")
    assert raised.value.reason == "denied"
    try:
        held = store.record_unwritable(raised.value)
        assert held.free_space_bytes is None and held.resume_at_bytes is None
        assert held.sentence.startswith(f"The snapshot store s3://{bucket}/ at ")
        assert "refuses writes since" in held.sentence
        assert store.check_store().since == held.since  # the probe's put fails too

        client = s3_server.client()
        client.create_bucket(Bucket=bucket)  # an operator fixed it
        try:
            assert store.check_store() is None
            assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []  # no probe
        finally:
            client.delete_bucket(Bucket=bucket)
    finally:
        store.clear_condition()
