"""Operator actions on one job: cancel, pause, resume, retry its failures.

Each takes the dispatch lock, re-reads the job, takes its row lock (in the order `locks`
gives) and checks the job's state once (`_locked_in_state`), raising JobStateConflict when the
action does not apply; then changes the job and lets the queue move on commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from snapshots import store

from ..errors import JobStateConflict
from ..models import BackfillJob, JobStatus, UnitStatus
from . import broker, dispatch, locks, outcome

log = logging.getLogger(__name__)

PAUSABLE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)


def _locked_in_state(
    job: BackfillJob,
    action: str,
    *,
    allowed: Callable[[BackfillJob], bool],
    refusal: Callable[[BackfillJob], str],
) -> None:
    """Lock (dispatch lock, then the job's row), refresh `job`, and raise JobStateConflict with
    `refusal(job)` unless `allowed(job)`. Call inside a transaction."""
    dispatch.hold_dispatch_lock()
    job.refresh_from_db()
    locks.job_lock(job.pk)
    if not allowed(job):
        raise JobStateConflict(
            job_id=job.pk, action=action, status=job.status, message=refusal(job)
        )


def cancel_job(*, job: BackfillJob) -> BackfillJob:
    """Cancel cooperatively: no unit starts after this; in-flight units stop before their next
    request. A queued job is cancelled at once. Raises JobStateConflict for a finished job."""
    with transaction.atomic():
        _locked_in_state(
            job,
            "cancel",
            allowed=lambda job: not job.is_terminal,
            refusal=lambda job: (
                f"Job {job.pk} is already {job.status}; there is nothing to cancel."
            ),
        )
        cancelled = job.units.filter(status=UnitStatus.PENDING).update(
            status=UnitStatus.CANCELLED, finished_at=timezone.now()
        )
        BackfillJob.objects.filter(pk=job.pk).update(
            cancelled_units=F("cancelled_units") + cancelled, status=JobStatus.CANCELLING
        )
        job.refresh_from_db()
        store_down = store.store_condition() is not None
        if not job.units.filter(status=UnitStatus.RUNNING).exists() and not (
            outcome.assemblies_hold(job, store_down=store_down)
        ):
            outcome.finish_job(job)
    job.refresh_from_db()
    log.info("job %s cancel requested: %s", job.pk, job.status)
    return job


def pause_job(*, job: BackfillJob) -> BackfillJob:
    """Stop dispatching the job's units: units already in flight finish (and are counted), the
    pending ones stay pending, the checkpoint. A paused job is not active, so the queue behind
    it may start; it keeps its place for `resume_job`. Raises JobStateConflict unless the job is
    queued or running."""
    with transaction.atomic():
        _locked_in_state(
            job,
            "pause",
            allowed=lambda job: job.status in PAUSABLE_JOB_STATUSES,
            refusal=lambda job: (
                f"Job {job.pk} is {job.status}; only a queued or running job can be paused."
            ),
        )
        job.status = JobStatus.PAUSED
        job.save(update_fields=["status"])
        # The slot it held is free now: a queued job may start.
        transaction.on_commit(lambda: broker.send(broker.START_JOBS_TASK))
    log.info("job %s paused", job.pk)
    return job


def resume_job(*, job: BackfillJob) -> BackfillJob:
    """Queue a paused job again; it starts from its checkpoint (its units not yet finished) in
    its original place, oldest job first, as soon as a slot is free. Raises JobStateConflict
    unless the job is paused."""
    with transaction.atomic():
        _locked_in_state(
            job,
            "resume",
            allowed=lambda job: job.status == JobStatus.PAUSED,
            refusal=lambda job: f"Job {job.pk} is {job.status}; only a paused job can be resumed.",
        )
        job.status = JobStatus.PENDING
        job.save(update_fields=["status"])
        transaction.on_commit(lambda: broker.send(broker.START_JOBS_TASK))
    log.info("job %s resumed (queued from its checkpoint)", job.pk)
    return job


def retry_failed(*, job: BackfillJob) -> int:
    """Queue a finished job's failed units again (only those: a cancelled job's cancelled
    units stay cancelled, so it ends `partial_success` at best). Returns how many.

    Raises JobStateConflict when the job is still active or has no failed unit."""
    with transaction.atomic():
        _locked_in_state(
            job,
            "retry",
            allowed=lambda job: job.is_terminal,
            refusal=lambda job: (
                f"Job {job.pk} is {job.status}; retry its failures once it has ended."
            ),
        )
        count = job.units.filter(status=UnitStatus.FAILED).update(
            status=UnitStatus.PENDING,
            attempts=0,
            error_type="",
            error_message="",
            retryable=None,
            finished_at=None,
        )
        if count == 0:
            raise JobStateConflict(
                job_id=job.pk,
                action="retry",
                status=job.status,
                message=(
                    f"Job {job.pk} ({job.status}) has no failed units to retry"
                    + (" (cancelled units are not retried)." if job.cancelled_units else ".")
                ),
            )
        BackfillJob.objects.filter(pk=job.pk).update(
            failed_units=F("failed_units") - count,
            status=JobStatus.PENDING,
            finished_at=None,
            error_summary={},
        )
        transaction.on_commit(lambda: broker.send(broker.START_JOBS_TASK))
    log.info("job %s: %s failed units queued again", job.pk, count)
    return count
