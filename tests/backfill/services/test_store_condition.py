"""A snapshot store that cannot take writes (issue 18 section 3) is a clear state, not a silent
stall: units that hit it go back to the queue uncounted, nothing more is dispatched, assemblies
wait quietly, the explainer, the job status (API and admin), the admin index and the store
health say so with the free space, and the 10 s reclaim resumes everything once it can write.

Units run in this process against the simulator over HTTP (`tests.fixtures.jobs.run_to_the_end`);
the broker is the `sent` recorder. The store is made "nearly full" for real by raising
SNAPSHOT_MIN_FREE_BYTES above the free space of the test's disk (a real full tmpfs with a worker
and beat is in tests/faults/test_faults.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from backfill import tasks
from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, SnapshotAssembly, UnitStatus
from backfill.selectors import waiting
from backfill.services import actions, broker, dispatch, execution, jobs, recovery
from backfill.services import assembly as assembly_service
from snapshots import store
from tests.fixtures.backfill import lease_token
from tests.fixtures.jobs import run_to_the_end

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = 1 << 60  # more free space than any disk has: every write is refused


@pytest.fixture
def store_fills_up(settings, backfill_env, monkeypatch):
    """`fill()` makes the store refuse writes, `free()` gives the space back; the condition is
    forgotten after the test. Workers are not pinged (none runs here)."""
    monkeypatch.setattr(recovery, "alive_workers", set)

    class Store:
        @staticmethod
        def fill() -> None:
            settings.SNAPSHOT_MIN_FREE_BYTES = HUGE

        @staticmethod
        def free() -> None:
            settings.SNAPSHOT_MIN_FREE_BYTES = 0

    yield Store
    store.clear_condition()


def problems(caplog, level=logging.WARNING) -> list[tuple[str, str]]:
    return [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= level]


def make_assembly_old(job) -> SnapshotAssembly:
    (assembly,) = SnapshotAssembly.objects.filter(job=job)
    SnapshotAssembly.objects.filter(pk=assembly.pk).update(
        created_at=timezone.now() - timedelta(seconds=assembly_service.UNCLAIMED_SECONDS + 1)
    )
    return assembly


def test_units_that_find_the_store_full_wait_uncounted_and_nothing_more_is_dispatched(
    fast_limits, sent, store_fills_up, caplog, admin_client
):
    caplog.set_level(logging.INFO)
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-11",
                "targetDistricts": ["42", "61"],
                "concurrency": 2,
            }
        )
    )
    dispatch.start_queued_jobs()
    claimed = list(job.units.filter(status=UnitStatus.RUNNING).values_list("id", flat=True))
    assert len(claimed) == 2
    store_fills_up.fill()  # while they download

    for unit_id in claimed:
        outcome = execution.run_unit(unit_id=unit_id, token=lease_token(unit_id))
        assert outcome.status == UnitStatus.PENDING

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.failed_units == 0
    units = job.units.filter(pk__in=claimed)
    assert set(units.values_list("status", flat=True)) == {UnitStatus.PENDING}
    assert set(units.values_list("attempts", flat=True)) == {0}  # not counted as attempts
    assert all(n > 0 for n in units.values_list("requests_made", flat=True))  # still counted
    assert not job.units.filter(status=UnitStatus.RUNNING).exists()  # nothing else went out
    assert dispatch.dispatch_units() == 0
    run_unit_messages = [args for task, args in sent if task == broker.RUN_UNIT_TASK]
    assert len(run_unit_messages) == 2  # the first two only
    # One WARNING when the condition began, no ERROR, whatever the number of units that hit it.
    (warning,) = problems(caplog)
    assert warning[0] == "snapshots.store.condition"
    assert "is nearly full" in warning[1]

    held = store.store_condition()
    why = waiting.why_not_running(job=job)
    assert why.startswith(held.sentence)
    assert "bytes free" in why and "no unit is dispatched" in why
    assert "resumes by itself" in why
    api = admin_client.get(f"/api/admin/backfill/{job.pk}").json()
    assert api["whyNotRunning"] == why
    assert api["snapshotStore"]["state"] == "low_space"
    assert api["snapshotStore"]["freeSpaceBytes"] == held.free_space_bytes
    page = admin_client.get(f"/admin/backfill/backfilljob/{job.pk}/status.json").json()
    assert page["whyNotRunning"] == why
    assert page["snapshotStore"]["since"] == held.since.isoformat()
    index = admin_client.get("/admin/").content.decode()
    assert 'id="bf-store-condition"' in index and "no unit is dispatched" in index

    # Space returns: the next reclaim (beat, every 10 s) sees it and dispatches again.
    store_fills_up.free()
    recovery.reclaim_lost_units()
    assert store.store_condition() is None
    assert job.units.filter(status=UnitStatus.RUNNING).count() == 2
    job = run_to_the_end(job)
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == 4
    assert set(job.units.values_list("attempts", flat=True)) == {1}
    assert waiting.why_not_running(job=job) is None
    assert "bf-store-condition" not in admin_client.get("/admin/").content.decode()


def test_assemblies_wait_quietly_while_the_store_is_full_and_are_done_once_it_takes_writes(
    fast_limits, sent, store_fills_up, monkeypatch, caplog
):
    # The process that ended the date's last unit died before assembling (as a full disk
    # leaves it: the unit's file written, the manifest not).
    monkeypatch.setattr(assembly_service, "run_assembly", lambda **kwargs: False)
    job = run_to_the_end(
        jobs.create_job(
            request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42", "61"]})
        )
    )
    monkeypatch.undo()
    monkeypatch.setattr(recovery, "alive_workers", set)
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: sent.append((task, args))
    )
    assembly = make_assembly_old(job)
    store_fills_up.fill()
    caplog.set_level(logging.INFO)

    for _ in range(3):  # three beat ticks
        recovery.reclaim_lost_units()
    assert (broker.ASSEMBLE_TASK, (assembly.pk,)) not in sent
    assert tasks.assemble_snapshot(assembly.pk) is False  # a message sent before it filled up

    # Quiet: one WARNING when the condition began, no ERROR line per attempt.
    assert [name for name, _ in problems(caplog)] == ["snapshots.store.condition"]
    assert SnapshotAssembly.objects.get(pk=assembly.pk).claimed_until is None
    assert store.read_manifest(logical_date=job.start_date) is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    why = waiting.why_not_running(job=job)
    assert "no unit is dispatched" in why
    assert "The snapshots of 1 date(s) wait to be assembled." in why

    store_fills_up.free()
    recovery.reclaim_lost_units()
    assert (broker.ASSEMBLE_TASK, (assembly.pk,)) in sent
    assert tasks.assemble_snapshot(assembly.pk) is True
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert store.read_manifest(logical_date=job.start_date)["jobId"] == str(job.pk)


def test_a_job_cancelled_while_the_store_is_full_ends_and_its_snapshots_follow_later(
    fast_limits, sent, store_fills_up, monkeypatch
):
    monkeypatch.setattr(assembly_service, "run_assembly", lambda **kwargs: False)
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-11",
                "targetDistricts": ["42", "61"],
                "concurrency": 2,
            }
        )
    )
    dispatch.start_queued_jobs()
    first = list(job.units.filter(status=UnitStatus.RUNNING).values_list("id", flat=True))
    for unit_id in first:  # the first date is stored; its assembly is left to do
        execution.run_unit(unit_id=unit_id, token=lease_token(unit_id))
    monkeypatch.undo()
    monkeypatch.setattr(recovery, "alive_workers", set)
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: sent.append((task, args))
    )
    store_fills_up.fill()
    for unit_id in job.units.filter(status=UnitStatus.RUNNING).values_list("id", flat=True):
        execution.run_unit(
            unit_id=unit_id, token=lease_token(unit_id)
        )  # the second date finds the store full
    assembly = make_assembly_old(job)
    assert job.units.filter(status=UnitStatus.PENDING).count() == 2

    job = actions.cancel_job(job=job)

    # Not `cancelling` until someone frees the disk: it ends now.
    assert job.status == JobStatus.CANCELLED
    assert (job.succeeded_units, job.cancelled_units, job.failed_units) == (2, 2, 0)
    assert SnapshotAssembly.objects.filter(pk=assembly.pk).exists()
    store_fills_up.free()
    recovery.reclaim_lost_units()
    assert tasks.assemble_snapshot(assembly.pk) is True
    manifest = store.read_manifest(logical_date=job.start_date)
    assert manifest["jobId"] == str(job.pk) and manifest["status"] == "completed"


def test_a_unit_that_finds_the_store_full_while_its_job_is_cancelled_ends_cancelled(
    fast_limits, sent, store_fills_up, monkeypatch
):
    job = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    )
    dispatch.start_queued_jobs()
    (unit,) = job.units.filter(status=UnitStatus.RUNNING)
    store_fills_up.fill()
    record = store.record_unwritable

    def cancelled_meanwhile(error):
        # An operator cancels between the unit's downloads and its write.
        actions.cancel_job(job=BackfillJob.objects.get(pk=job.pk))
        return record(error)

    monkeypatch.setattr(store, "record_unwritable", cancelled_meanwhile)

    outcome = execution.run_unit(unit_id=unit.pk, token=lease_token(unit.pk))

    # Not put back into a job being cancelled (it would never end): the unit ends cancelled.
    assert outcome.status == UnitStatus.CANCELLED
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.cancelled_units == 1
    assert not job.units.filter(status=UnitStatus.PENDING).exists()


def test_analytics_units_that_find_the_store_full_wait_the_same_way(
    fast_limits, sent, store_fills_up
):
    stored = run_to_the_end(
        jobs.create_job(
            request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42"]})
        )
    )
    assert stored.status == JobStatus.COMPLETED
    job = jobs.create_job(
        request=backfill_request(
            {"jobType": "analytics-generation", "startDate": "2025-03-10", "endDate": "2025-03-10"}
        )
    )
    dispatch.start_queued_jobs()
    claimed = list(job.units.filter(status=UnitStatus.RUNNING).values_list("id", flat=True))
    assert claimed
    store_fills_up.fill()

    for unit_id in claimed:
        assert (
            execution.run_unit(unit_id=unit_id, token=lease_token(unit_id)).status
            == UnitStatus.PENDING
        )

    job.refresh_from_db()
    assert (job.status, job.failed_units) == (JobStatus.RUNNING, 0)
    assert set(job.units.values_list("status", "attempts")) == {(UnitStatus.PENDING, 0)}
    store_fills_up.free()
    recovery.reclaim_lost_units()
    job = run_to_the_end(job)
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == job.total_units
