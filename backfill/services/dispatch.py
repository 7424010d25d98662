"""Starting jobs and dispatching their units: the windowed queue.

The database is the queue of record. Only a bounded window of units is in flight in the broker:
a unit is claimed (`SELECT ... FOR UPDATE SKIP LOCKED`), sent to a worker with a new lease token
(`broker.send_units`), and its end (`units.finish_unit`) dispatches the next one; a slot of a
store-bound job holds a batch of units sent in one message (`batches`). Everything
here runs under the dispatch lock (`locks`). Running units whose lease expired are dispatched
again first (`redispatch`, also used by `recovery`), so dead units never hold the window.

Requests, not a queue of waiters. A unit's end does not wait for the dispatch lock: it counts a
request (a Redis counter, `request_dispatch`) and takes the lock only if it is free
(`locks.try_dispatch_lock`). The one holder dispatches for every request counted when it took
the lock, and after its commit looks again: requests that came meanwhile (their ends committed
before they counted, so before it looked) are drained by the same holder, in a loop, or by the
next one to take the lock; every holder of the lock, blocking ones included
(`hold_dispatch_lock`), drains on commit. The holder takes the requests (resets the counter)
under the lock and gives them back if its dispatch fails; a holder that dies in between leaves
them to the reclaim (`recovery.reclaim_lost_units`, every 10 s), which dispatches anyway. A
dispatch fills only free slots, under the lock, so no unit is sent twice. Without Redis, a
unit's end waits for the lock as it did before.

The store. Every unit writes to the snapshot store, so while it cannot take writes (full, nearly
full, read-only, refused: `snapshots.store.store_condition`) nothing is dispatched; a unit that
hit it is put back (`units.release_unit`: pending again, its attempt not counted), and the
reclaim (`recovery.reclaim_lost_units`, every 10 s) re-tests the store first and dispatches as
soon as it can. A job waits through it; one cancelled meanwhile ends without waiting for its
assemblies.

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
  without a request (`collecting._stored_meanwhile`; when it does collect again, that is
  idempotent: files are written atomically and the manifest is rebuilt from what is on disk).
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Count, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from backfill_project import counters
from snapshots import store

from ..limits import get_redis, key_prefix
from ..models import (
    ACTIVE_JOB_STATUSES,
    JOB_DISPATCH_ORDER,
    BackfillJob,
    BackfillUnit,
    JobStatus,
    RateLimitConfig,
    UnitStatus,
)
from . import assembly, broker, leases, locks, outcome

log = logging.getLogger(__name__)

# recovery_count is a small integer column; it saturates rather than overflow.
RECOVERY_COUNT_MAX = 32_767
# Jobs whose pending units may be dispatched. Any other status (cancelling, paused, ...) gets
# no new unit.
DISPATCHABLE_JOB_STATUSES = (JobStatus.RUNNING,)


def start_queued_jobs() -> list[str]:
    """Start queued jobs, highest priority first and oldest first within one priority, while
    fewer than BACKFILL_MAX_ACTIVE_JOBS jobs of the same or a higher priority are active (see
    "Priorities" above). Returns the ids of the jobs started."""
    started: list[str] = []
    with transaction.atomic():
        config = hold_dispatch_lock()
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
        dispatch_locked(config)
    for job_id in started:
        log.info("job %s started", job_id)
    return started


def dispatch_units() -> int:
    """Fill the window of every running job (see `dispatch_locked`), waiting for the dispatch
    lock. Returns how many units were dispatched."""
    with transaction.atomic():
        return dispatch_locked(hold_dispatch_lock())


def hold_dispatch_lock() -> RateLimitConfig:
    """Take the dispatch lock, waiting for it (`locks.dispatch_lock`), and drain the dispatch
    requests that come while it is held once the transaction commits. Inside a transaction."""
    config = locks.dispatch_lock()
    transaction.on_commit(_drain_on_release)
    return config


def request_dispatch() -> int:
    """Ask for a dispatch (a unit ended, was put back, a date was assembled) without waiting
    for the dispatch lock ("Requests" above): count the request, then drain the requests if
    the lock is free. Returns how many units this call dispatched (0 when the holder of the
    lock will). Without Redis, waits for the lock and dispatches. Call outside any
    transaction holding a job's lock."""
    try:
        get_redis().incr(_requests_key())
        return drain_dispatch_requests()
    except redis.RedisError as exc:
        log.warning("dispatch requested without Redis (%s): waiting for the lock", exc)
        return dispatch_units()


def drain_dispatch_requests() -> int:
    """While requests are counted and the dispatch lock is free, take it, dispatch, commit and
    remove the requests served. Returns how many units were dispatched. Raises
    redis.RedisError when Redis cannot be reached (the requests stay counted)."""
    client, key = get_redis(), _requests_key()
    dispatched = 0
    while int(client.get(key) or 0) > 0:
        taken = 0
        try:
            with transaction.atomic():
                config = locks.try_dispatch_lock()
                if config is None:
                    return dispatched  # its holder drains them on commit
                # Taken under the lock, so no two holders serve the same requests; those
                # counted from now on are seen by the look after the commit.
                taken = int(client.getset(key, 0) or 0)
                if taken > 0:
                    dispatched += dispatch_locked(config)
        except Exception:
            if taken > 0:
                client.incrby(key, taken)  # not served: the next holder serves them
            raise
    return dispatched


def _drain_on_release() -> None:
    """A holder of the lock lets go: serve the requests that came meanwhile. Without Redis
    there are none (their units' ends wait for the lock instead)."""
    try:
        drain_dispatch_requests()
    except redis.RedisError as exc:
        log.warning("dispatch requests not drained without Redis: %s", exc)


def _requests_key() -> str:
    return f"{key_prefix()}:dispatch:requests"


def dispatch_locked(config: RateLimitConfig | None = None) -> int:
    """Dispatch pending units into the free slots of every dispatchable job, highest priority
    first (then oldest first), each up to its own concurrency and all together up to the global
    `max_concurrent` (a priority job with nothing in flight may start one unit beyond it), never
    a date another active job works on or a job ahead still has pending ("Priorities" above);
    first re-dispatch running units whose lease expired, so dead units never hold the window;
    finish active jobs with nothing left to run. Must run inside a transaction holding the
    dispatch lock (`config`: the row it locked, else read again). Returns how many pending
    units were dispatched."""
    now = timezone.now()
    redispatch(
        BackfillUnit.objects.filter(status=UnitStatus.RUNNING, lease_expires_at__lt=now), now=now
    )
    # Every unit writes to the store: while it cannot take writes (full, read-only), units stay
    # queued; the periodic check (`reclaim_lost_units`) dispatches again once it can.
    store_down = store.store_condition() is not None
    config = config or RateLimitConfig.load()
    # The active jobs with their units in flight, in one query.
    running = (
        BackfillUnit.objects.filter(job_id=OuterRef("pk"), status=UnitStatus.RUNNING)
        .order_by()
        .values("job_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    # A store-bound job's slots hold batches (`batches`): its distinct lease tokens in flight.
    running_batches = (
        BackfillUnit.objects.filter(job_id=OuterRef("pk"), status=UnitStatus.RUNNING)
        .order_by()
        .values("job_id")
        .annotate(n=Count("lease_token", distinct=True))
        .values("n")
    )
    active = list(
        BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES)
        .annotate(
            units_in_flight=Coalesce(Subquery(running), 0),
            batches_in_flight=Coalesce(Subquery(running_batches), 0),
        )
        .order_by(*JOB_DISPATCH_ORDER)
    )
    in_flight = {
        job.pk: job.batches_in_flight if job.is_store_bound else job.units_in_flight
        for job in active
    }
    dispatched = 0
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
        size = 1
        pool = job.is_store_bound
        slots = min(job.concurrency - running, free[pool])
        if job.is_priority and running == 0:
            slots = max(slots, 1)
        if job.status in DISPATCHABLE_JOB_STATUSES and slots > 0 and not store_down:
            pending = BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING)
            blocked = dates.blocked_for(position) if dates else set()
            if blocked:
                pending = pending.exclude(logical_date__in=blocked)
            # A store-bound job's slot takes a batch of units, a downloading job's one unit.
            # Its pending units from its counters (its total less those ended or in flight):
            # only to size the batches, so no count query.
            left = job.total_units - job.finished_units - job.units_in_flight
            size = batch_size(left, job.concurrency) if pool else 1
            picked = (
                _store_batches(job.pk, pending, slots, size) if pool else [_next(pending, slots)]
            )
            groups = [[unit_id for unit_id, _ in group] for group in picked if group]
            ids = [unit_id for group in groups for unit_id in group]
            if dates:
                dates.started(position, {day for group in picked for _, day in group})
        if ids:
            tokens = [leases.new_token() for _ in groups]
            # One statement for every batch (a token each): the trigger that keeps the
            # per-(job, district, status) counts then locks its rows in one sorted pass, as a
            # batch's end does (`batches`); several statements could deadlock with it.
            BackfillUnit.objects.filter(id__in=ids).update(
                status=UnitStatus.RUNNING,
                started_at=now,
                lease_token=_token_of(groups, tokens),
                lease_owner="",
                lease_pid=None,
                lease_expires_at=leases.claim_deadline(now),
            )
            for group, token in zip(groups, tokens, strict=True):
                transaction.on_commit(_sender(group, token, batch=pool))
            free[pool] -= len(groups) if pool else len(ids)
            dispatched += len(ids)
        elif (
            running == 0
            and (job.status == JobStatus.CANCELLING or not _has_pending(job))
            and not outcome.assemblies_hold(job, store_down=store_down)
        ):
            outcome.finish_job(job)
    return dispatched


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


def batch_size(pending: int, concurrency: int) -> int:
    """Units per batch of a store-bound job (`batches`) with `pending` units left and
    `concurrency` slots: at most BACKFILL_STORE_BATCH_UNITS, and a fair share of what is left,
    so that the last units spread over every process, but no less than a quarter of the most
    (a batch of one would pay a dispatch and an end per unit again); and the same for every
    batch of what is left: 120 units in four batches of 30, not three of 32 and one of 24, so
    that no process gets more of the last units than another (1,200 in ten batches of 120, not
    nine of 128 and one of 48)."""
    most = settings.BACKFILL_STORE_BATCH_UNITS
    share = math.ceil(pending / max(1, concurrency))
    size = max(1, min(most, max(share, most // 4)))
    return math.ceil(pending / math.ceil(pending / size)) if pending > size else size


def _next(pending, count: int) -> list[tuple[int, date]]:
    """The next `count` pending units (id, date), in (date, district) order, locked."""
    ordered = pending.order_by("logical_date", "district_id").select_for_update(skip_locked=True)
    return list(ordered.values_list("id", "logical_date")[:count])


def _store_batches(job_id, pending, slots: int, size: int) -> list[list[tuple[int, date]]]:
    """Up to `slots` batches of up to `size` pending units (id, date) of a store-bound job, in
    (date, district) order, no two of them, nor one of them and a batch of the job already
    running, on one date while other dates are pending: two processes writing one date's files
    at once wait for the date's store lock and directory. The rest of a date a batch took waits
    for a later dispatch; slots that dates not worked on cannot fill take the next units of any
    date, so that none idles at the job's end."""
    busy = set(
        BackfillUnit.objects.filter(job_id=job_id, status=UnitStatus.RUNNING)
        .values_list("logical_date", flat=True)
        .distinct()
    )
    candidates = _next(pending.exclude(logical_date__in=busy), 2 * slots * size)
    batches: list[list[tuple[int, date]]] = []
    current: list[tuple[int, date]] = []
    for unit_id, day in candidates:
        if len(current) == size:
            batches.append(current)
            busy |= {taken for _, taken in current}
            current = []
            if len(batches) == slots:
                break
        if day not in busy:
            current.append((unit_id, day))
    if current and len(batches) < slots:
        batches.append(current)
    if len(batches) < slots:
        chosen = [unit_id for batch in batches for unit_id, _ in batch]
        rest = _next(pending.exclude(id__in=chosen), (slots - len(batches)) * size)
        batches += [rest[i : i + size] for i in range(0, len(rest), size)]
    return batches


def _token_of(groups: list[list[int]], tokens: list[str]):
    """The lease token of each unit of `groups` (one per group), for one UPDATE."""
    if len(groups) == 1:
        return tokens[0]
    pairs = zip(groups, tokens, strict=True)
    return Case(*[When(id__in=g, then=Value(t)) for g, t in pairs], output_field=CharField())


def _sender(ids: list[int], token: str, *, batch: bool):
    """What sends the units after commit: one message for a batch, one per unit otherwise."""
    if batch:
        return lambda: broker.send_batch(ids, token)
    return lambda: broker.send_units(ids, token)


def _has_pending(job: BackfillJob) -> bool:
    return BackfillUnit.objects.filter(job_id=job.pk, status=UnitStatus.PENDING).exists()


def redispatch(lost, *, now) -> list[str]:
    """Give lost running units (a queryset) a new lease token and send them again; those of a
    cancelling job end cancelled, those of a job that may not dispatch go back to pending.
    Returns the ids of the jobs that had lost units. Inside the dispatch lock."""
    by_job: dict[Any, list[int]] = {}
    for unit_id, job_id in lost.values_list("id", "job_id"):
        by_job.setdefault(job_id, []).append(unit_id)
    recovered = []
    for job_id, ids in by_job.items():
        recovered.append(str(job_id))
        job = locks.job_lock(job_id)
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
                todo = assembly.date_ended(job, day, now=now)
                if todo is not None:
                    transaction.on_commit(lambda todo=todo: assemble_and_dispatch(assembly_id=todo))
        elif job.status in DISPATCHABLE_JOB_STATUSES:
            # A store-bound job's lost units go again one by one, each with a token of its own
            # (a slot each): a unit that kills its runner then fails alone once its attempts
            # are spent (`execution`), with no unit of its batch counted with it.
            groups = [[unit_id] for unit_id in ids] if job.is_store_bound else [ids]
            for group in groups:
                token = leases.new_token()
                units.filter(id__in=group).update(
                    lease_token=token,
                    lease_owner="",
                    lease_pid=None,
                    lease_expires_at=leases.claim_deadline(now),
                    started_at=now,
                )
                transaction.on_commit(_sender(group, token, batch=False))
            BackfillJob.objects.filter(pk=job_id).update(
                recovery_count=Least(F("recovery_count") + 1, RECOVERY_COUNT_MAX), heartbeat_at=now
            )
        else:
            units.update(
                status=UnitStatus.PENDING, started_at=None, lease_expires_at=None, **release
            )
        log.warning("job %s: %s lost units re-dispatched (%s)", job_id, len(ids), job.status)
    reclaimed = sum(len(ids) for ids in by_job.values())
    if reclaimed:
        transaction.on_commit(lambda: counters.increment(counters.LEASE_RECLAIMS, amount=reclaimed))
    return recovered


def assemble_and_dispatch(*, assembly_id: int) -> bool:
    """`assembly.run_assembly`, then dispatch: the job may finish once its last assembly is
    done."""
    assembled = assembly.run_assembly(assembly_id=assembly_id)
    request_dispatch()
    return assembled
