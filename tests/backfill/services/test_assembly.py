"""Narrow locks (issue 13 section 1): a unit's end locks its job's row, not every job; the date's
snapshot is assembled after that transaction with no database lock held, from a durable
`SnapshotAssembly` row that a reclaim picks up when its process died; store-bound jobs have
slots of their own.

Units run in this process against the simulator over HTTP (`tests.fixtures.jobs.run_to_the_end`);
the broker is the `sent` recorder.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError as RequestInvalid

from backfill import tasks
from backfill.contracts import backfill_request
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    JobStatus,
    RateLimitConfig,
    SnapshotAssembly,
    UnitStatus,
)
from backfill.services import assembly as assembly_service
from backfill.services import broker, dispatch, jobs, recovery
from snapshots import store
from tests.fixtures.jobs import run_to_the_end

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2025, 3, 10)
REQUEST = {"startDate": "2025-03-10", "targetDistricts": ["42", "61"]}


def locked_elsewhere(model, pk) -> bool:
    """Is the row locked by another transaction? Asked from another connection (a thread)."""
    answer: list[bool] = []

    def ask() -> None:
        try:
            with transaction.atomic():
                model.objects.select_for_update(nowait=True).get(pk=pk)
            answer.append(False)
        except DatabaseError:
            answer.append(True)
        finally:
            connection.close()

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join()
    return answer[0]


def test_the_manifest_is_written_while_no_database_lock_is_held(
    backfill_env, fast_limits, sent, monkeypatch
):
    finalize = store.finalize_snapshot
    seen: list[tuple[bool, bool]] = []

    def watched(**kwargs):
        job = BackfillJob.objects.get()
        seen.append(
            (
                locked_elsewhere(RateLimitConfig, RateLimitConfig.load().pk),
                locked_elsewhere(BackfillJob, job.pk),
            )
        )
        return finalize(**kwargs)

    monkeypatch.setattr(store, "finalize_snapshot", watched)

    job = run_to_the_end(jobs.create_job(request=backfill_request(REQUEST)))

    assert job.status == JobStatus.COMPLETED
    assert seen == [(False, False)]  # assembled once, neither lock held meanwhile
    assert store.read_manifest(logical_date=DAY)["status"] == "completed"
    assert not SnapshotAssembly.objects.exists()


def test_an_assembly_its_process_left_behind_is_done_by_the_reclaim(
    backfill_env, fast_limits, sent, monkeypatch
):
    # The process that ended the date's last unit dies right after its commit.
    monkeypatch.setattr(assembly_service, "run_assembly", lambda **kwargs: False)
    job = run_to_the_end(jobs.create_job(request=backfill_request(REQUEST)))
    monkeypatch.undo()
    monkeypatch.setattr(recovery, "alive_workers", set)
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: sent.append((task, args))
    )

    assert job.status == JobStatus.RUNNING  # no unit left, but its snapshot is not assembled
    assert store.read_manifest(logical_date=DAY) is None
    (assembly,) = SnapshotAssembly.objects.filter(job=job)

    recovery.reclaim_lost_units()
    assert (
        broker.ASSEMBLE_TASK,
        (assembly.pk,),
    ) not in sent  # too young: its process may live
    SnapshotAssembly.objects.filter(pk=assembly.pk).update(
        created_at=timezone.now() - timedelta(seconds=assembly_service.UNCLAIMED_SECONDS + 1)
    )
    with transaction.atomic():
        recovery.reclaim_lost_units()
    assert (broker.ASSEMBLE_TASK, (assembly.pk,)) in sent

    assert tasks.assemble_snapshot(assembly.pk) is True
    assert tasks.assemble_snapshot(assembly.pk) is False  # a duplicate message does nothing
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert store.read_manifest(logical_date=DAY)["jobId"] == str(job.pk)


def test_a_snapshot_published_before_its_process_died_is_not_published_again(
    backfill_env, fast_limits, sent, monkeypatch
):
    job = run_to_the_end(jobs.create_job(request=backfill_request(REQUEST)))
    published = store.read_manifest(logical_date=DAY)
    # The process died after publishing, before deleting its row.
    left = SnapshotAssembly.objects.create(
        job=job, logical_date=DAY, created_at=timezone.now() - timedelta(seconds=5)
    )

    def again(**kwargs):
        raise AssertionError("published twice")

    monkeypatch.setattr(store, "finalize_snapshot", again)
    assert assembly_service.run_assembly(assembly_id=left.pk)
    assert not SnapshotAssembly.objects.exists()
    assert store.read_manifest(logical_date=DAY) == published


def test_a_store_error_in_assembly_leaves_the_job_to_the_next_reclaim_not_stuck(
    backfill_env, fast_limits, sent, monkeypatch
):
    def broken(**kwargs):
        raise store.SnapshotStoreError("disk full")

    monkeypatch.setattr(store, "finalize_snapshot", broken)
    job = run_to_the_end(jobs.create_job(request=backfill_request(REQUEST)))
    assert job.status == JobStatus.RUNNING
    (assembly,) = SnapshotAssembly.objects.filter(job=job)
    assert assembly.claimed_until is None  # released for the next try

    monkeypatch.undo()
    assert dispatch.assemble_and_dispatch(assembly_id=assembly.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


def test_store_bound_jobs_have_slots_of_their_own(
    backfill_env, fast_limits, sent, settings, simulator
):
    run_to_the_end(jobs.create_job(request=backfill_request({**REQUEST, "endDate": "2025-03-13"})))
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    settings.BACKFILL_STORE_MAX_CONCURRENT = 5
    settings.BACKFILL_STORE_BATCH_UNITS = 1  # a store-bound slot holds a batch: of one unit here
    RateLimitConfig.objects.update(max_concurrent=1)
    downloads = jobs.create_job(
        request=backfill_request({**REQUEST, "startDate": "2025-05-12", "concurrency": 3})
    )
    archive = jobs.create_job(
        request=backfill_request(
            {**REQUEST, "endDate": "2025-03-13", "source": "archive", "concurrency": 20}
        )
    )

    dispatch.start_queued_jobs()

    running = {
        job.pk: BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).count()
        for job in (downloads, archive)
    }
    assert running == {downloads.pk: 1, archive.pk: 5}


def test_a_job_that_downloads_keeps_the_dashboards_concurrency_bound():
    assert backfill_request({"startDate": "2025-03-10", "source": "archive", "concurrency": 32})
    assert backfill_request({"jobType": "analytics-generation", "concurrency": 32})
    with pytest.raises(RequestInvalid) as error:
        backfill_request({"startDate": "2025-03-10", "concurrency": 11})
    assert "concurrency" in error.value.detail
    with pytest.raises(RequestInvalid):
        backfill_request({"startDate": "2025-03-10", "source": "archive", "concurrency": 33})
