"""The job lifecycle: create, start (by priority, FIFO within one), dispatch (windowed), finish,
cancel, retry, recover.

The database is the queue of record. Only a bounded window of units is in flight in the broker:
a unit is claimed (`SELECT ... FOR UPDATE SKIP LOCKED`), sent to a worker, and its end claims the
next one. Two database locks keep the counters equal to the unit counts and make "the last unit
of a date" and "the last unit of a job" exact, taken in this order only: the global dispatch lock
(the `RateLimitConfig` row, FOR UPDATE) around dispatch, start, reclaim and the operator actions;
a job's row lock (`_job_lock`) around the end of one of its units. A unit's end takes only its
job's lock, then assembles its date's snapshot with no database lock held
(`services/assembly.py`), then dispatches under the global lock: no file I/O happens inside a
transaction holding a lock other workers wait for.

Around it: `assembly.py` (the date's manifest once its last unit ended), `follow_up.py` (the
analytics job a finished collection queues), `gap_fill.py` (beat's daily job), `cleanup.py`
(retention); the error summary is a selector.

Leases. The broker is only a delivery hint; a unit's row says who may run it. Dispatching a unit
draws a new `lease_token` and sends it with the message; a worker claims the unit only with that
token and only while nobody holds it (`claim_unit`), records its hostname and pid, and renews a
short lease (`BACKFILL_UNIT_LEASE_SECONDS`) while it runs (`renew_lease`). Only the holder of
the current token can end the unit (`finish_unit`, `requeue_unit`), so a late redelivery of an
old message, or a runner whose lease was taken over, changes nothing. A running unit is lost
when its lease expired (its holder died; or it was not claimed within a third of the lease:
its message was lost with Redis or reserved by a worker that died) or when its worker no longer
answers a ping; lost units are dispatched again with a new token by
`reclaim_lost_units` (beat, every 10 s; every worker at start) and by dispatch itself, which
re-dispatches expired leases before it counts the window.

The store. Every unit writes to the snapshot store, so while it cannot take writes (full, nearly
full, read-only, refused: `snapshots.store.store_condition`) nothing is dispatched; a unit that
hit it is put back (`release_unit`: pending again, its attempt not counted), and the reclaim
(`reclaim_lost_units`, every 10 s) re-tests the store first and dispatches as soon as it can.
A job waits through it; one cancelled meanwhile ends without waiting for its assemblies.

Priorities. A job has a priority (`JobPriority`: urgent > daily > normal > low); beat's daily
gap fill creates `daily` jobs (run kind `daily-refresh`), an operator may mark a job `urgent`.
- Start: queued jobs start highest priority first, oldest first within one priority, while fewer
  than `BACKFILL_MAX_ACTIVE_JOBS` jobs *of the same or a higher priority* are active. A running
  lower-priority job therefore never holds a higher one back (the daily refresh starts at once
  beside a long backfill), and a lower one waits while higher ones run.
- Slots: free unit slots go to active jobs highest priority first (then oldest first), each up
  to its own concurrency, all together up to `max_concurrent`. A priority job (above normal) with
  no unit in flight may start one unit beyond `max_concurrent`, so it starts within seconds even
  while a long job holds every slot (the rate limiter, not the slot count, protects the site; its
  requests also get the share of the window reserved for priority jobs). The long job keeps its
  units in flight and takes slots again as the priority job leaves them; it continues where it
  was, its units being the checkpoint.
- Dates. Two active jobs never collect the same logical date at once: a job does not dispatch a
  unit of a date another active job has a unit running on, nor of a date a job ahead of it
  (higher priority, or same priority and older) still has pending. The job behind defers those
  units and goes on with its other dates; it runs the deferred ones after the job ahead has
  finished the date, and a unit whose district the job ahead stored meanwhile ends skipped
  without a request (`collection._stored_meanwhile`; when it does collect again, that is
  idempotent: files are written atomically and the manifest is rebuilt from what is on disk).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from itertools import islice
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from kombu.exceptions import KombuError

from snapshots import store

from ..models import (
    ACTIVE_JOB_STATUSES,
    JOB_DISPATCH_ORDER,
    BackfillJob,
    BackfillUnit,
    CreatedVia,
    JobPriority,
    JobStatus,
    JobType,
    RateLimitConfig,
    RunKind,
    SnapshotAssembly,
    UnitStatus,
)
from ..selectors.jobs import job_error_summary
from . import assembly as assembly_service
from . import follow_up, planning
from .errors import JobStateConflict

log = logging.getLogger(__name__)

RUN_UNIT_TASK = "backfill.tasks.run_unit"
START_JOBS_TASK = "backfill.tasks.start_queued_jobs"
BULK_BATCH = 5_000
# recovery_count is a small integer column; it saturates rather than overflow.
RECOVERY_COUNT_MAX = 32_767

# Unit status -> the job counter that counts it.
COUNTER_FOR = {
    UnitStatus.SUCCEEDED: "succeeded_units",
    UnitStatus.SKIPPED: "skipped_units",
    UnitStatus.UNAVAILABLE: "unavailable_units",
    UnitStatus.FAILED: "failed_units",
    UnitStatus.CANCELLED: "cancelled_units",
    UnitStatus.WAITING: "waiting_units",
}


def _dispatch_lock() -> RateLimitConfig:
    """Serialize multi-row transitions across every process (call inside a transaction)."""
    pk = RateLimitConfig.load().pk
    return RateLimitConfig.objects.select_for_update().get(pk=pk)


# Jobs whose pending units may be dispatched. Any other status (cancelling, paused, ...) gets
# no new unit.
DISPATCHABLE_JOB_STATUSES = (JobStatus.RUNNING, JobStatus.RECOVERING)


def _send(task: str, *args: Any, countdown: float | None = None) -> None:
    current_app.send_task(
        task, args=args, countdown=countdown, queue=settings.CELERY_TASK_DEFAULT_QUEUE
    )


def _send_units(ids: Iterable[int], token: str, countdown: float | None = None) -> None:
    """Send unit messages after commit. A broker that is down loses nothing: the units stay
    running with a lease nobody renews, and the next reclaim dispatches them again."""
    for unit_id in ids:
        try:
            _send(RUN_UNIT_TASK, unit_id, token, countdown=countdown)
        except (KombuError, OSError) as exc:
            log.warning("unit %s not sent (%s); re-dispatched when its lease ends", unit_id, exc)


def _lease_seconds() -> float:
    return float(settings.BACKFILL_UNIT_LEASE_SECONDS)


def _lease_until(now, extra: float = 0.0):
    return now + timedelta(seconds=_lease_seconds() + extra)


def _claim_deadline(now, extra: float = 0.0):
    """How long a dispatched unit waits to be claimed before its message is presumed lost (a
    third of the lease): a message reserved by a worker killed before it started the unit is
    never redelivered in time, and re-sending one that was merely queued costs only a message
    the claim then ignores."""
    return now + timedelta(seconds=_lease_seconds() / 3 + extra)


def _new_token() -> str:
    return uuid.uuid4().hex


def create_job(
    *,
    request: planning.BackfillRequest,
    created_via: str = CreatedVia.API,
    created_by=None,
    follow_up_of: BackfillJob | None = None,
    run_kind: str = RunKind.BACKFILL,
    schedule_key: str | None = None,
) -> BackfillJob:
    """Plan and persist a job with all its units; queue it on commit (by its priority, the
    request's `priority` label, FIFO within one priority). `run_kind` says whether it is the
    daily refresh of current data or a backfill of history.

    `request` is validated already (`backfill.contracts`). `follow_up_of`: the data-collection
    job an analytics-generation job follows up. `schedule_key`: what scheduled the job, unique
    (`gap_fill`). Raises ValidationError (field -> messages) when the scope leaves nothing to
    collect, IntegrityError when a job of `schedule_key` exists.
    """
    plan = planning.plan(request)
    req = plan.request
    with transaction.atomic():
        job = BackfillJob.objects.create(
            job_type=req.job_type,
            request=req.as_json(),
            start_date=plan.start_date,
            end_date=plan.end_date,
            follow_up_of=follow_up_of,
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
            priority=JobPriority.from_label(req.priority),
            run_kind=run_kind,
            schedule_key=schedule_key,
        )
        counts = _insert_units(job, plan.units())
        BackfillJob.objects.filter(pk=job.pk).update(
            total_units=sum(counts.values()),
            skipped_units=counts[UnitStatus.SKIPPED],
            unavailable_units=counts[UnitStatus.UNAVAILABLE],
            waiting_units=counts[UnitStatus.WAITING],
        )
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    job.refresh_from_db()
    log.info(
        "job %s created: %s units, strategy %s (%s), %s priority %s",
        job.pk,
        job.total_units,
        job.collection_strategy,
        job.strategy_rationale,
        job.run_kind,
        job.priority_label,
    )
    return job


def _insert_units(job: BackfillJob, units: Iterator[planning.PlannedUnit]) -> dict[str, int]:
    """Insert every planned unit, streaming, so memory stays flat for 50,000 units.

    PostgreSQL gets one COPY (an order of magnitude faster than INSERTs for a year of units);
    other databases get batched bulk inserts.
    """
    counts = dict.fromkeys(
        (UnitStatus.PENDING, UnitStatus.SKIPPED, UnitStatus.UNAVAILABLE, UnitStatus.WAITING), 0
    )
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
        defaults = "attempts, requests_made, lease_token, lease_owner"
        sql = f"COPY {table} ({', '.join(columns)}, {defaults}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows():
                copy.write_row((*row, 0, 0, "", ""))
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
    """Start queued jobs, highest priority first and oldest first within one priority, while
    fewer than BACKFILL_MAX_ACTIVE_JOBS jobs of the same or a higher priority are active (see
    "Priorities" above). Returns the ids of the jobs started."""
    started: list[str] = []
    with transaction.atomic():
        _dispatch_lock()
        limit = settings.BACKFILL_MAX_ACTIVE_JOBS
        active = list(
            BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).values_list(
                "priority", flat=True
            )
        )
        now = timezone.now()
        queued = BackfillJob.objects.filter(status=JobStatus.PENDING).order_by(
            "-priority", "created_at"
        )
        for job in queued.iterator():
            if sum(1 for priority in active if priority >= job.priority) >= limit:
                # Every job after it has the same or a lower priority: none may start either.
                break
            job.status = JobStatus.RUNNING
            job.started_at = job.started_at or now
            job.heartbeat_at = now
            job.finished_at = None
            job.save(update_fields=["status", "started_at", "heartbeat_at", "finished_at"])
            active.append(job.priority)
            started.append(str(job.pk))
        _dispatch()
    for job_id in started:
        log.info("job %s started", job_id)
    return started


def dispatch_units(*, job_id: str | None = None) -> int:
    """Fill the window of every running job (see `_dispatch`). `job_id` is accepted for old
    callers; free slots go to all running jobs, oldest first. Returns how many units were
    dispatched."""
    with transaction.atomic():
        _dispatch_lock()
        return _dispatch()


def _dispatch() -> int:
    """Dispatch pending units into the free slots of every dispatchable job, highest priority
    first (then oldest first), each up to its own concurrency and all together up to the global
    `max_concurrent` (a priority job with nothing in flight may start one unit beyond it), never
    a date another active job works on or a job ahead still has pending ("Priorities" above);
    first re-dispatch running units whose lease expired, so dead units never hold the window;
    finish active jobs with nothing left to run. Must run inside a transaction holding the
    dispatch lock. Returns how many pending units were dispatched."""
    now = timezone.now()
    _redispatch(
        BackfillUnit.objects.filter(status=UnitStatus.RUNNING, lease_expires_at__lt=now), now=now
    )
    # Every unit writes to the store: while it cannot take writes (full, read-only), units stay
    # queued; the periodic check (`reclaim_lost_units`) dispatches again once it can.
    store_down = store.store_condition() is not None
    config = RateLimitConfig.load()
    in_flight = dict(
        BackfillUnit.objects.filter(status=UnitStatus.RUNNING, job__status__in=ACTIVE_JOB_STATUSES)
        .values_list("job_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    dispatched = 0
    active = list(
        BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).order_by(*JOB_DISPATCH_ORDER)
    )
    # Two pools of slots: units that download from the dashboard share `max_concurrent`; units
    # that only read and write the store (analytics, the raw archive) share
    # BACKFILL_STORE_MAX_CONCURRENT, so they neither wait for nor crowd out the dashboard's.
    free = {False: config.max_concurrent, True: settings.BACKFILL_STORE_MAX_CONCURRENT}
    for job in active:
        free[job.is_store_bound] -= in_flight.get(job.pk, 0)
    dates = _ActiveDates(active) if len(active) > 1 else None
    for position, job in enumerate(active):
        running = in_flight.get(job.pk, 0)
        ids: list[int] = []
        pool = job.is_store_bound
        slots = min(job.concurrency - running, free[pool])
        if job.is_priority and running == 0:
            slots = max(slots, 1)
        if job.status in DISPATCHABLE_JOB_STATUSES and slots > 0 and not store_down:
            pending = BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING)
            blocked = dates.blocked_for(position) if dates else set()
            if blocked:
                pending = pending.exclude(logical_date__in=blocked)
            picked = list(
                pending.order_by("logical_date", "district_id")
                .select_for_update(skip_locked=True)
                .values_list("id", "logical_date")[:slots]
            )
            ids = [unit_id for unit_id, _ in picked]
            if dates:
                dates.started(position, {day for _, day in picked})
        if ids:
            token = _new_token()
            BackfillUnit.objects.filter(id__in=ids).update(
                status=UnitStatus.RUNNING,
                started_at=now,
                lease_token=token,
                lease_owner="",
                lease_pid=None,
                lease_expires_at=_claim_deadline(now),
            )
            transaction.on_commit(lambda ids=ids, token=token: _send_units(ids, token))
            free[pool] -= len(ids)
            dispatched += len(ids)
        elif (
            running == 0
            and (job.status == JobStatus.CANCELLING or not _has_pending(job))
            and not _assemblies_hold(job, store_down=store_down)
        ):
            _finish_job(job)
    return dispatched


def _assemblies_hold(job: BackfillJob, *, store_down: bool) -> bool:
    """Does the job wait for its dates' snapshot assemblies before it may finish? Always, but
    for a job being cancelled while the store cannot take writes: it ends `cancelled` and its
    assemblies stay queued, done once the store takes writes again."""
    if store_down and job.status == JobStatus.CANCELLING:
        return False
    return job.assemblies.exists()


class _ActiveDates:
    """The dates each active job (in dispatch order) works on or still has to do, so that two
    jobs never collect one date at once: a job may not start a unit of a date another job has
    running, nor of a date a job ahead of it still has pending. Built only when more than one
    job is active: two small grouped queries (running units; pending dates of the jobs ahead)."""

    def __init__(self, active: list[BackfillJob]) -> None:
        index = {job.pk: i for i, job in enumerate(active)}
        self.running: list[set[date]] = [set() for _ in active]
        for job_id, day in (
            BackfillUnit.objects.filter(job_id__in=index, status=UnitStatus.RUNNING)
            .values_list("job_id", "logical_date")
            .distinct()
        ):
            self.running[index[job_id]].add(day)
        # The last job has nobody behind it: its pending dates block no one.
        self.pending: list[set[date]] = [
            set(
                BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING)
                .values_list("logical_date", flat=True)
                .distinct()
            )
            if i < len(active) - 1
            else set()
            for i, job in enumerate(active)
        ]

    def blocked_for(self, position: int) -> set[date]:
        blocked: set[date] = set()
        for i, days in enumerate(self.running):
            if i != position:
                blocked |= days
        for days in self.pending[:position]:
            blocked |= days
        return blocked

    def started(self, position: int, days: set[date]) -> None:
        self.running[position] |= days


def _has_pending(job: BackfillJob) -> bool:
    return BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING).exists()


def _redispatch(lost, *, now) -> list[str]:
    """Give lost running units (a queryset) a new lease token and send them again; those of a
    cancelling job end cancelled, those of a job that may not dispatch go back to pending.
    Returns the ids of the jobs that had lost units. Inside the dispatch lock."""
    by_job: dict[Any, list[int]] = {}
    for unit_id, job_id in lost.values_list("id", "job_id"):
        by_job.setdefault(job_id, []).append(unit_id)
    recovered = []
    for job_id, ids in by_job.items():
        recovered.append(str(job_id))
        job = _job_lock(job_id)
        units = BackfillUnit.objects.filter(id__in=ids, status=UnitStatus.RUNNING)
        release = {"lease_token": "", "lease_owner": "", "lease_pid": None}
        if job.status == JobStatus.CANCELLING:
            days = set(units.values_list("logical_date", flat=True))
            count = units.update(
                status=UnitStatus.CANCELLED, finished_at=now, lease_expires_at=None, **release
            )
            BackfillJob.objects.filter(pk=job_id).update(
                cancelled_units=F("cancelled_units") + count
            )
            for day in sorted(days):
                # Their date may have no unit left to run: its snapshot is assembled after
                # commit.
                assembly = _date_ended(job, day, now=now)
                if assembly is not None:
                    transaction.on_commit(
                        lambda assembly=assembly: assembly_service.assemble_and_dispatch(
                            assembly_id=assembly
                        )
                    )
        elif job.status in DISPATCHABLE_JOB_STATUSES:
            token = _new_token()
            units.update(
                lease_token=token,
                lease_owner="",
                lease_pid=None,
                lease_expires_at=_claim_deadline(now),
                started_at=now,
            )
            BackfillJob.objects.filter(pk=job_id).update(
                recovery_count=Least(F("recovery_count") + 1, RECOVERY_COUNT_MAX), heartbeat_at=now
            )
            transaction.on_commit(lambda ids=ids, token=token: _send_units(ids, token))
        else:
            units.update(
                status=UnitStatus.PENDING, started_at=None, lease_expires_at=None, **release
            )
        log.warning("job %s: %s lost units re-dispatched (%s)", job_id, len(ids), job.status)
    return recovered


def claim_unit(*, unit_id: int, token: str | None, owner: str, pid: int) -> bool:
    """Take the lease of a dispatched unit for the worker `owner` (Celery hostname), process
    `pid`. True when this caller now holds it and should run it; False for a late or duplicate
    message (another token, the unit already ended or held by a live process).

    A message that comes back because its pool process was killed (same token, same worker,
    that process gone) takes the unit over at once instead of waiting for the lease to end.
    `token` None is a message sent before leases existed: it claims an unheld unit.
    """
    now = timezone.now()
    fields = {
        "lease_owner": owner,
        "lease_pid": pid,
        "lease_expires_at": _lease_until(now),
        "attempts": F("attempts") + 1,
    }
    free = BackfillUnit.objects.filter(pk=unit_id, status=UnitStatus.RUNNING)
    if token is not None:
        free = free.filter(lease_token=token)
    if free.filter(lease_owner="").update(**fields):
        return True
    held = free.exclude(lease_owner="").filter(lease_owner=owner).first()
    if held is None or held.lease_pid in (None, pid) or _process_alive(held.lease_pid):
        return False
    taken = free.filter(lease_owner=owner, lease_pid=held.lease_pid).update(**fields)
    if taken:
        log.warning("unit %s: taken from dead process %s of %s", unit_id, held.lease_pid, owner)
    return bool(taken)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def renew_lease(*, unit_id: int, token: str) -> bool:
    """Extend the lease of a unit this caller holds. False when the lease is no longer this
    caller's (the unit ended, was cancelled, or was dispatched again): the runner must stop."""
    return bool(
        BackfillUnit.objects.filter(
            pk=unit_id, status=UnitStatus.RUNNING, lease_token=token
        ).update(lease_expires_at=_lease_until(timezone.now()))
    )


def finish_unit(
    *,
    unit_id: int,
    status: str,
    token: str | None = None,
    error_type: str = "",
    message: str = "",
    retryable: bool | None = None,
    requests_made: int = 0,
) -> bool:
    """Record a unit's end, assemble its date's snapshot if it was the date's last unit, and
    dispatch the next units of every running job. Returns False (and does nothing) if the unit
    had already ended or, given its lease `token`, if the lease is no longer that one: a
    redelivered or superseded unit never counts twice.

    Three steps, none holding a lock another job needs while it does file I/O: the unit's end
    and its job's counters under the job's row lock (and, for the date's last unit, the
    `SnapshotAssembly` row); the assembly, with no database lock; the dispatch, under the
    global dispatch lock."""
    now = timezone.now()
    assembly = None
    with transaction.atomic():
        row = BackfillUnit.objects.filter(pk=unit_id).values("job_id", "logical_date").first()
        if row is None:
            return False
        job = _job_lock(row["job_id"])
        current = BackfillUnit.objects.filter(pk=unit_id, status=UnitStatus.RUNNING)
        if token is not None:
            current = current.filter(lease_token=token)
        running = list(current.values_list("started_at", flat=True)[:1])
        if not running:
            return False
        started = running[0] or now
        current.update(
            status=status,
            error_type=error_type,
            error_message=message[:2000],
            retryable=retryable,
            requests_made=F("requests_made") + requests_made,
            finished_at=now,
            duration_ms=int((now - started).total_seconds() * 1000),
            lease_owner="",
            lease_pid=None,
            lease_expires_at=None,
        )
        BackfillJob.objects.filter(pk=job.pk).update(
            **{COUNTER_FOR[status]: F(COUNTER_FOR[status]) + 1}, heartbeat_at=now
        )
        assembly = _date_ended(job, row["logical_date"], now=now)
    if assembly is not None:
        assembly_service.run_assembly(assembly_id=assembly)
    dispatch_units()
    return True


def _job_lock(job_id: Any) -> BackfillJob:
    """Lock one job's row (inside a transaction): its counters, its units' ends and "the last
    unit of a date" are decided by one process at a time. Lock order: the dispatch lock, if
    taken, first; a transaction holding a job's lock never waits for the dispatch lock."""
    return BackfillJob.objects.select_for_update().get(pk=job_id)


def _date_ended(job: BackfillJob, logical_date: date, *, now) -> int | None:
    """Record that the date's snapshot must be assembled if no unit of it is left to run (call
    under the job's lock). Returns the `SnapshotAssembly` id, or None."""
    if job.job_type == JobType.ANALYTICS_GENERATION:
        return None  # it reads snapshots and writes none
    units = job.units.filter(logical_date=logical_date)
    if units.filter(status__in=(UnitStatus.PENDING, UnitStatus.RUNNING)).exists():
        return None
    if not units.filter(status__in=(UnitStatus.SUCCEEDED, UnitStatus.FAILED)).exists():
        return None  # no unit of the date ran (skipped, unavailable, cancelled): nothing new
    assembly, _ = SnapshotAssembly.objects.update_or_create(
        job=job, logical_date=logical_date, defaults={"created_at": now, "claimed_until": None}
    )
    return assembly.pk


def _finish_job(job: BackfillJob) -> None:
    """Give a job with no pending or running unit its final status; start the next job.

    A job is `completed` only when no unit failed and none was cancelled: a retried cancelled
    job whose cancelled units never ran ends `partial_success`."""
    job.refresh_from_db()
    if job.is_terminal:
        return
    if job.status == JobStatus.CANCELLING:
        job.status = JobStatus.CANCELLED
    elif job.failed_units == 0 and job.cancelled_units == 0:
        job.status = JobStatus.COMPLETED
    elif job.succeeded_units + job.skipped_units + job.unavailable_units + job.waiting_units > 0:
        job.status = JobStatus.PARTIAL_SUCCESS
    else:
        job.status = JobStatus.FAILED
    job.finished_at = timezone.now()
    job.error_summary = job_error_summary(job=job)
    job.save(update_fields=["status", "finished_at", "error_summary"])
    log.info("job %s finished: %s", job.pk, job.status)
    follow_up.queue_follow_up_analytics(job=job)
    transaction.on_commit(lambda: _send(START_JOBS_TASK))


def requeue_unit(
    *, unit_id: int, countdown: float, token: str | None = None, requests_made: int = 0
) -> bool:
    """Run a unit again later (transient error): it keeps its slot in the window meanwhile,
    under a new lease token that the delayed message carries. Adds `requests_made` to the
    unit's count. False (nothing sent) when the caller's `token` no longer holds the unit."""
    now = timezone.now()
    with transaction.atomic():
        current = BackfillUnit.objects.filter(pk=unit_id, status=UnitStatus.RUNNING)
        if token is not None:
            current = current.filter(lease_token=token)
        new_token = _new_token()
        moved = current.update(
            lease_token=new_token,
            lease_owner="",
            lease_pid=None,
            lease_expires_at=_claim_deadline(now, extra=countdown),
            requests_made=F("requests_made") + requests_made,
        )
        if moved:
            transaction.on_commit(lambda: _send_units([unit_id], new_token, countdown=countdown))
    return bool(moved)


def release_unit(*, unit_id: int, token: str | None = None, requests_made: int = 0) -> bool:
    """Put a running unit back in its job's queue, its attempt not counted: it could not write
    because the snapshot store cannot take writes (full, read-only), no fault of its own.
    Dispatch sends it again once the store takes writes. Adds `requests_made` to the unit's
    count. False (nothing changed) when `token` no longer holds the unit, or when its job is
    being cancelled (the caller then ends the unit cancelled)."""
    with transaction.atomic():
        row = BackfillUnit.objects.filter(pk=unit_id).values("job_id").first()
        if row is None:
            return False
        job = _job_lock(row["job_id"])
        if job.status == JobStatus.CANCELLING or job.is_terminal:
            return False
        current = BackfillUnit.objects.filter(pk=unit_id, status=UnitStatus.RUNNING)
        if token is not None:
            current = current.filter(lease_token=token)
        moved = current.update(
            status=UnitStatus.PENDING,
            attempts=Greatest(F("attempts") - 1, 0),
            requests_made=F("requests_made") + requests_made,
            started_at=None,
            lease_token="",
            lease_owner="",
            lease_pid=None,
            lease_expires_at=None,
        )
    if moved:
        dispatch_units()
    return bool(moved)


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
        _job_lock(job.pk)
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
        store_down = store.store_condition() is not None
        if not job.units.filter(status=UnitStatus.RUNNING).exists() and not _assemblies_hold(
            job, store_down=store_down
        ):
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
        _job_lock(job.pk)
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
        _job_lock(job.pk)
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
    """Queue a finished job's failed units again (only those: a cancelled job's cancelled
    units stay cancelled, so it ends `partial_success` at best). Returns how many.

    Raises JobStateConflict when the job is still active or has no failed unit."""
    with transaction.atomic():
        _dispatch_lock()
        job.refresh_from_db()
        _job_lock(job.pk)
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
        transaction.on_commit(lambda: _send(START_JOBS_TASK))
    log.info("job %s: %s failed units queued again", job.pk, count)
    return count


def alive_workers() -> set[str] | None:
    """Hostnames of the Celery workers that answer a ping within
    BACKFILL_WORKER_PING_TIMEOUT_SECONDS; None when the broker cannot be asked (then only
    expired leases count as lost)."""
    try:
        # A connection of its own, closed at once: the app's shared producer pool would be
        # inherited, in use, by processes this one forks.
        with current_app.connection_for_write() as broker:
            replies = current_app.control.ping(
                timeout=settings.BACKFILL_WORKER_PING_TIMEOUT_SECONDS, connection=broker
            )
    except (KombuError, OSError) as exc:
        log.warning("workers not pinged (%s): only expired leases are reclaimed", exc)
        return None
    return {hostname for reply in replies or [] for hostname in reply}


def reclaim_lost_units() -> list[str]:
    """Dispatch again every running unit whose lease expired or whose worker no longer
    answers a ping, then fill every job's window. Never touches a unit whose holder is alive:
    a unit claimed after the ping started is not judged by it. Returns the ids of the jobs
    that had lost units. For beat (every 10 s) and worker start.

    It first re-tests the snapshot store (`store.check_store`, with no lock held): a store that
    takes writes again ends its condition, so that this very dispatch resumes the jobs."""
    store.check_store()
    pinged_at = timezone.now()
    alive = alive_workers()
    with transaction.atomic():
        _dispatch_lock()
        now = timezone.now()
        lost = Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
        if alive is not None:
            # A live holder renewed its lease within a third of it; one that renewed after the
            # ping went out is judged by the next ping.
            lost |= (
                ~Q(lease_owner="")
                & ~Q(lease_owner__in=alive)
                & Q(lease_expires_at__lte=_lease_until(pinged_at))
            )
        recovered = _redispatch(
            BackfillUnit.objects.filter(status=UnitStatus.RUNNING).filter(lost), now=now
        )
        assembly_service.reclaim_assemblies(now=now)
        _dispatch()
    return recovered


def recover_jobs(*, stale_after: timedelta | None = None) -> list[str]:
    """Reclaim lost units (`reclaim_lost_units`); for active jobs whose heartbeat is older than
    `stale_after` (default BACKFILL_STALE_AFTER_SECONDS) also dispatch again the units whose
    message may be lost (dispatched, never claimed). A unit held by a live process is never
    sent again, so no unit runs twice at once. Then start queued jobs if there is room.
    Returns the ids of the jobs that had units dispatched again.

    Raises ValueError for a negative `stale_after`."""
    if stale_after is None:
        stale_after = timedelta(seconds=settings.BACKFILL_STALE_AFTER_SECONDS)
    if stale_after < timedelta(0):
        raise ValueError(f"stale_after must not be negative, got {stale_after}")
    cutoff = timezone.now() - stale_after
    recovered = reclaim_lost_units()
    with transaction.atomic():
        _dispatch_lock()
        stale = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
        )
        # Only units sent before the cutoff: one dispatched just now is on its way.
        unsent = BackfillUnit.objects.filter(
            Q(started_at__lt=cutoff) | Q(started_at__isnull=True),
            job__in=stale,
            status=UnitStatus.RUNNING,
            lease_owner="",
        )
        recovered += _redispatch(unsent, now=timezone.now())
        _dispatch()
    start_queued_jobs()
    return sorted(set(recovered), key=recovered.index)
