"""The job lifecycle: create, start (FIFO), dispatch (windowed), finish, cancel, retry, recover.

The database is the queue of record. Only a bounded window of units is in flight in the broker:
a unit is claimed (`SELECT ... FOR UPDATE SKIP LOCKED`), sent to a worker, and its end claims the
next one. Every transition that touches more than one row happens under one global dispatch lock
(the `RateLimitConfig` row, locked FOR UPDATE), which keeps the counters equal to the unit counts
and makes "the last unit of a date" and "the last unit of a job" exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import islice
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from snapshots import store

from .. import selectors
from ..models import (
    ACTIVE_JOB_STATUSES,
    TERMINAL_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    CreatedVia,
    JobStatus,
    RateLimitConfig,
    UnitStatus,
)
from . import planning
from .errors import JobStateConflict

log = logging.getLogger(__name__)

RUN_UNIT_TASK = "backfill.tasks.run_unit"
START_JOBS_TASK = "backfill.tasks.start_queued_jobs"
BULK_BATCH = 5_000

# Unit status -> the job counter that counts it.
COUNTER_FOR = {
    UnitStatus.SUCCEEDED: "succeeded_units",
    UnitStatus.SKIPPED: "skipped_units",
    UnitStatus.UNAVAILABLE: "unavailable_units",
    UnitStatus.FAILED: "failed_units",
    UnitStatus.CANCELLED: "cancelled_units",
}


def _dispatch_lock() -> RateLimitConfig:
    """Serialize multi-row transitions across every process (call inside a transaction)."""
    pk = RateLimitConfig.load().pk
    return RateLimitConfig.objects.select_for_update().get(pk=pk)


def _send(task: str, *args: Any, countdown: float | None = None) -> None:
    current_app.send_task(
        task, args=args, countdown=countdown, queue=settings.CELERY_TASK_DEFAULT_QUEUE
    )


def create_job(
    *,
    request: planning.BackfillRequest,
    created_via: str = CreatedVia.API,
    created_by=None,
) -> BackfillJob:
    """Plan and persist a job with all its units; queue it (FIFO) on commit.

    `request` is validated already (`backfill.contracts`). Raises ValidationError (field ->
    messages) when the scope leaves nothing to collect.
    """
    plan = planning.plan(request)
    req = plan.request
    with transaction.atomic():
        job = BackfillJob.objects.create(
            job_type=req.job_type,
            request=req.as_json(),
            start_date=req.start_date,
            end_date=req.end_date,
            scope={**plan.scope, "warnings": list(plan.warnings)},
            collection_strategy=plan.collection_strategy,
            strategy_rationale=plan.rationale,
            estimated_efficiency=plan.estimated_efficiency,
            concurrency=req.concurrency,
            retry_failures=req.retry_failures,
            skip_existing=req.skip_existing,
            enable_caching=req.enable_caching,
            rate_limit_delay_ms=req.rate_limit_delay_ms,
            created_via=created_via,
            created_by=created_by,
        )
        counts = _insert_units(job, plan.units())
        BackfillJob.objects.filter(pk=job.pk).update(
            total_units=sum(counts.values()),
            skipped_units=counts[UnitStatus.SKIPPED],
            unavailable_units=counts[UnitStatus.UNAVAILABLE],
        )
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    job.refresh_from_db()
    log.info(
        "job %s created: %s units, strategy %s (%s)",
        job.pk,
        job.total_units,
        job.collection_strategy,
        job.strategy_rationale,
    )
    return job


def _insert_units(job: BackfillJob, units: Iterator[planning.PlannedUnit]) -> dict[str, int]:
    """Insert every planned unit, streaming, so memory stays flat for 50,000 units.

    PostgreSQL gets one COPY (an order of magnitude faster than INSERTs for a year of units);
    other databases get batched bulk inserts.
    """
    counts = dict.fromkeys((UnitStatus.PENDING, UnitStatus.SKIPPED, UnitStatus.UNAVAILABLE), 0)
    now = timezone.now()

    def rows() -> Iterator[tuple]:
        for unit in units:
            counts[unit.status] += 1
            done = unit.status != UnitStatus.PENDING
            error_type = "data_unavailable" if unit.status == UnitStatus.UNAVAILABLE else ""
            yield (
                job.pk,
                unit.logical_date,
                unit.district_id,
                unit.status,
                error_type,
                unit.reason,
                now if done else None,
            )

    columns = ("job_id", "logical_date", "district_id", "status", "error_type", "error_message")
    columns += ("finished_at",)
    if connection.vendor == "postgresql":
        table = BackfillUnit._meta.db_table
        defaults = "attempts, requests_made"
        sql = f"COPY {table} ({', '.join(columns)}, {defaults}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows():
                copy.write_row((*row, 0, 0))
        return counts
    batch_iter = rows()
    while batch := list(islice(batch_iter, BULK_BATCH)):
        BackfillUnit.objects.bulk_create(
            [BackfillUnit(**dict(zip(columns, row, strict=True))) for row in batch],
            batch_size=BULK_BATCH,
        )
    return counts


def preview_job(*, request: planning.BackfillRequest) -> planning.Preview:
    """The plan of a job without writing anything. Raises ValidationError like create_job."""
    return planning.preview(planning.plan(request))


def start_queued_jobs() -> list[str]:
    """Start queued jobs, oldest first, while fewer than BACKFILL_MAX_ACTIVE_JOBS run."""
    started: list[str] = []
    with transaction.atomic():
        _dispatch_lock()
        active = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).count()
        free = settings.BACKFILL_MAX_ACTIVE_JOBS - active
        if free <= 0:
            return started
        now = timezone.now()
        queued = BackfillJob.objects.filter(status=JobStatus.PENDING).order_by("created_at")
        for job in queued[:free]:
            job.status = JobStatus.RUNNING
            job.started_at = job.started_at or now
            job.heartbeat_at = now
            job.finished_at = None
            job.save(update_fields=["status", "started_at", "heartbeat_at", "finished_at"])
            started.append(str(job.pk))
            _claim_units(job)
    for job_id in started:
        log.info("job %s started", job_id)
    return started


def dispatch_units(*, job_id: str) -> int:
    """Fill the job's window of in-flight units. Returns how many units were claimed."""
    with transaction.atomic():
        _dispatch_lock()
        job = BackfillJob.objects.get(pk=job_id)
        return _claim_units(job)


def _claim_units(job: BackfillJob) -> int:
    """Claim pending units up to the job's and the global concurrency; finish an empty job.

    Must run inside a transaction holding the dispatch lock.
    """
    if job.status != JobStatus.RUNNING:
        return 0
    config = RateLimitConfig.load()
    running = BackfillUnit.objects.filter(status=UnitStatus.RUNNING)
    running_job = running.filter(job_id=job.pk).count()
    running_all = running.filter(job__status__in=ACTIVE_JOB_STATUSES).count()
    slots = min(job.concurrency - running_job, config.max_concurrent - running_all)
    ids: list[int] = []
    if slots > 0:
        ids = list(
            BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING)
            .order_by("logical_date", "district_id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:slots]
        )
    if ids:
        BackfillUnit.objects.filter(id__in=ids).update(
            status=UnitStatus.RUNNING, started_at=timezone.now()
        )
        transaction.on_commit(lambda: [_send(RUN_UNIT_TASK, unit_id) for unit_id in ids])
    elif running_job == 0 and not _has_pending(job):
        _finish_job(job)
    return len(ids)


def _has_pending(job: BackfillJob) -> bool:
    return BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING).exists()


def finish_unit(
    *,
    unit_id: int,
    status: str,
    error_type: str = "",
    message: str = "",
    retryable: bool | None = None,
    requests_made: int = 0,
) -> bool:
    """Record a unit's end, assemble its date's snapshot if it was the date's last unit, and
    dispatch the next units. Returns False (and does nothing) if the unit had already ended:
    a redelivered unit never counts twice."""
    now = timezone.now()
    with transaction.atomic():
        _dispatch_lock()
        unit = (
            BackfillUnit.objects.select_related("job")
            .filter(pk=unit_id, status=UnitStatus.RUNNING)
            .first()
        )
        if unit is None:
            return False
        started = unit.started_at or now
        BackfillUnit.objects.filter(pk=unit_id).update(
            status=status,
            error_type=error_type,
            error_message=message[:2000],
            retryable=retryable,
            requests_made=F("requests_made") + requests_made,
            finished_at=now,
            duration_ms=int((now - started).total_seconds() * 1000),
        )
        job = unit.job
        BackfillJob.objects.filter(pk=job.pk).update(
            **{COUNTER_FOR[status]: F(COUNTER_FOR[status]) + 1}, heartbeat_at=now
        )
        job.refresh_from_db()
        if not job.units.filter(
            logical_date=unit.logical_date, status__in=(UnitStatus.PENDING, UnitStatus.RUNNING)
        ).exists():
            assemble_snapshot(job=job, logical_date=unit.logical_date)
        if job.status == JobStatus.RUNNING:
            _claim_units(job)
        elif (
            job.status == JobStatus.CANCELLING
            and not job.units.filter(status=UnitStatus.RUNNING).exists()
        ):
            _finish_job(job)
    return True


def assemble_snapshot(*, job: BackfillJob, logical_date: date) -> dict[str, Any] | None:
    """Write the date's manifest from what is on disk, with this job's district errors.

    Nothing to assemble when no unit of the date ran (all skipped, unavailable or cancelled).
    """
    units = list(
        job.units.filter(
            logical_date=logical_date, status__in=(UnitStatus.SUCCEEDED, UnitStatus.FAILED)
        ).values("district_id", "status", "error_type", "error_message")
    )
    if not units:
        return None
    errors = {
        u["district_id"]: {"errorType": u["error_type"], "message": u["error_message"]}
        for u in units
        if u["status"] == UnitStatus.FAILED
    }
    return store.finalize_snapshot(
        logical_date=logical_date,
        collection_strategy=job.collection_strategy,
        scope=job.scope.get("targetDistricts") or job.scope.get("configuredDistricts") or [],
        job_id=job.pk,
        district_errors=errors,
    )


def _finish_job(job: BackfillJob) -> None:
    """Give a job with no pending or running unit its final status; start the next job."""
    job.refresh_from_db()
    if job.is_terminal:
        return
    if job.status == JobStatus.CANCELLING:
        job.status = JobStatus.CANCELLED
    elif job.failed_units == 0:
        job.status = JobStatus.COMPLETED
    elif job.succeeded_units + job.skipped_units + job.unavailable_units > 0:
        job.status = JobStatus.PARTIAL_SUCCESS
    else:
        job.status = JobStatus.FAILED
    job.finished_at = timezone.now()
    job.error_summary = error_summary(job=job)
    job.save(update_fields=["status", "finished_at", "error_summary"])
    log.info("job %s finished: %s", job.pk, job.status)
    transaction.on_commit(lambda: _send(START_JOBS_TASK))


def error_summary(*, job: BackfillJob) -> dict[str, Any]:
    """The job's error summary as stored when it finishes (see selectors.job_error_summary)."""
    return selectors.job_error_summary(job=job)


def requeue_unit(*, unit_id: int, countdown: float) -> None:
    """Run a unit again later (transient error): it keeps its slot in the window meanwhile."""
    _send(RUN_UNIT_TASK, unit_id, countdown=countdown)


def touch_heartbeat(*, job_id: str) -> str:
    """Record that the job is alive; returns its current status (for cooperative cancel)."""
    BackfillJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
    return BackfillJob.objects.values_list("status", flat=True).get(pk=job_id)


def cancel_job(*, job: BackfillJob) -> BackfillJob:
    """Cancel cooperatively: no unit starts after this; in-flight units stop before their next
    request. A queued job is cancelled at once. Raises JobStateConflict for a finished job."""
    with transaction.atomic():
        _dispatch_lock()
        job.refresh_from_db()
        if job.is_terminal:
            raise JobStateConflict(
                job_id=job.pk,
                action="cancel",
                status=job.status,
                message=f"Job {job.pk} is already {job.status}; there is nothing to cancel.",
            )
        cancelled = job.units.filter(status=UnitStatus.PENDING).update(
            status=UnitStatus.CANCELLED, finished_at=timezone.now()
        )
        BackfillJob.objects.filter(pk=job.pk).update(
            cancelled_units=F("cancelled_units") + cancelled, status=JobStatus.CANCELLING
        )
        job.refresh_from_db()
        if not job.units.filter(status=UnitStatus.RUNNING).exists():
            _finish_job(job)
    job.refresh_from_db()
    log.info("job %s cancel requested: %s", job.pk, job.status)
    return job


PAUSABLE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RECOVERING)


def pause_job(*, job: BackfillJob) -> BackfillJob:
    """Stop dispatching the job's units: units already in flight finish (and are counted), the
    pending ones stay pending, the checkpoint. A paused job is not active, so the queue behind
    it may start; it keeps its place for `resume_job`. Raises JobStateConflict unless the job is
    queued, running or recovering."""
    with transaction.atomic():
        _dispatch_lock()
        job.refresh_from_db()
        if job.status not in PAUSABLE_JOB_STATUSES:
            raise JobStateConflict(
                job_id=job.pk,
                action="pause",
                status=job.status,
                message=f"Job {job.pk} is {job.status}; only a queued or running job can be "
                "paused.",
            )
        job.status = JobStatus.PAUSED
        job.save(update_fields=["status"])
        # The slot it held is free now: a queued job may start.
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    log.info("job %s paused", job.pk)
    return job


def resume_job(*, job: BackfillJob) -> BackfillJob:
    """Queue a paused job again; it starts from its checkpoint (its units not yet finished) in
    its original place, oldest job first, as soon as a slot is free. Raises JobStateConflict
    unless the job is paused."""
    with transaction.atomic():
        _dispatch_lock()
        job.refresh_from_db()
        if job.status != JobStatus.PAUSED:
            raise JobStateConflict(
                job_id=job.pk,
                action="resume",
                status=job.status,
                message=f"Job {job.pk} is {job.status}; only a paused job can be resumed.",
            )
        job.status = JobStatus.PENDING
        job.save(update_fields=["status"])
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    log.info("job %s resumed (queued from its checkpoint)", job.pk)
    return job


def retry_failed(*, job: BackfillJob) -> int:
    """Queue a finished job's failed units again (only those). Returns how many.

    Raises JobStateConflict when the job is still active or has no failed unit."""
    with transaction.atomic():
        _dispatch_lock()
        job.refresh_from_db()
        if not job.is_terminal:
            raise JobStateConflict(
                job_id=job.pk,
                action="retry",
                status=job.status,
                message=f"Job {job.pk} is {job.status}; retry its failures once it has ended.",
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
                message=f"Job {job.pk} ({job.status}) has no failed units to retry.",
            )
        BackfillJob.objects.filter(pk=job.pk).update(
            failed_units=F("failed_units") - count,
            status=JobStatus.PENDING,
            finished_at=None,
            error_summary={},
        )
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    log.info("job %s: %s failed units queued again", job.pk, count)
    return count


def recover_jobs(*, stale_after: timedelta | None = None) -> list[str]:
    """Resume active jobs whose heartbeat is older than `stale_after` (default
    BACKFILL_STALE_AFTER_SECONDS): their running units go back to pending and are dispatched
    again. Then start queued jobs if there is room. Returns the recovered job ids."""
    if stale_after is None:
        stale_after = timedelta(seconds=settings.BACKFILL_STALE_AFTER_SECONDS)
    cutoff = timezone.now() - stale_after
    recovered: list[str] = []
    stale = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    for job_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            _dispatch_lock()
            job = BackfillJob.objects.get(pk=job_id)
            if job.status not in ACTIVE_JOB_STATUSES:
                continue
            was_cancelling = job.status == JobStatus.CANCELLING
            job.status = JobStatus.RECOVERING
            job.save(update_fields=["status"])
            lost = job.units.filter(status=UnitStatus.RUNNING)
            orphans = lost.count()
            if was_cancelling:
                lost.update(status=UnitStatus.CANCELLED, finished_at=timezone.now())
                BackfillJob.objects.filter(pk=job.pk).update(
                    cancelled_units=F("cancelled_units") + orphans
                )
            else:
                lost.update(status=UnitStatus.PENDING, started_at=None)
            BackfillJob.objects.filter(pk=job.pk).update(
                status=JobStatus.CANCELLING if was_cancelling else JobStatus.RUNNING,
                heartbeat_at=timezone.now(),
                recovery_count=F("recovery_count") + 1,
            )
            job.refresh_from_db()
            log.warning("job %s recovered: %s in-flight units resumed", job.pk, orphans)
            if was_cancelling:
                _finish_job(job)
            else:
                _claim_units(job)
            recovered.append(str(job.pk))
    start_queued_jobs()
    return recovered


def cleanup_jobs(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Delete finished jobs (with their units) and task results older than `older_than`
    (default BACKFILL_JOB_RETENTION_DAYS). Snapshots are kept."""
    if older_than is None:
        older_than = timedelta(days=settings.BACKFILL_JOB_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    old = BackfillJob.objects.filter(status__in=TERMINAL_JOB_STATUSES, finished_at__lt=cutoff)
    jobs = old.count()
    units = BackfillUnit.objects.filter(job__in=old).delete()[0]
    old.delete()
    results = TaskResult.objects.filter(date_done__lt=cutoff).delete()[0]
    log.info("cleanup: %s jobs, %s units, %s task results deleted", jobs, units, results)
    return {"jobs": jobs, "units": units, "taskResults": results}


def fill_gap(*, days_back: int = 1) -> BackfillJob | None:
    """Beat's daily job: collect the configured scope for `days_back` days ago (already stored
    data is skipped). Returns None, logging why, when there is nothing valid to collect."""
    day = timezone.localdate() - timedelta(days=days_back)
    if days_back < 1:
        # Beat builds this request itself (no entry point's contract runs): today's data and
        # the future are not published yet.
        log.warning("gap fill for %s not started: the date is not in the past", day)
        return None
    try:
        return create_job(
            request=planning.BackfillRequest(start_date=day, end_date=day),
            created_via=CreatedVia.BEAT,
        )
    except ValidationError as exc:
        log.warning("gap fill for %s not started: %s", day, exc.messages)
        return None
