"""Batches: the units of a store-bound job (re-normalizing the archive, analytics, publishing,
importing) travel and end several at a time, so that a unit of a few ms of work does not pay a
broker hop, a dispatch and its job's row lock each.

Dispatch. A store-bound job's slot holds a batch rather than a unit: `dispatch_locked` picks up
to BACKFILL_STORE_BATCH_UNITS pending units per free slot (at most a fair share of what is left,
`dispatch.batch_size`, so that the last units spread over every process), gives each batch a
lease token of its own and sends one message for it (`broker.send_batch`). A store-bound job's
units in flight are counted in batches: its distinct lease tokens. A unit that downloads is
never batched: one unit, one message, rate-limited, as before.

A worker (`execution.run_batch`) claims every unit of the batch in one statement (`claim`, which
counts an attempt for each), renews their lease together (`renew`), and runs them one after
another. Before a unit, at most every STATUS_EVERY_SECONDS, it reads its job's status and checks
that the next unit is still the batch's (`job_status`): pause and cancel are honoured between
units (a paused or queued job gets the units not run back as pending, their claim's attempt
given back; a job being cancelled ends them cancelled), and a batch whose lease was taken over
stops. The ends are recorded together (`end`): one transaction under the job's row lock for the
whole batch, of two statements sent together (the lock; the units' ends with their counts and
the assemblies due of the dates whose last unit ended), then the dates' assemblies, then one
dispatch request. The directories the batch's units wrote files in are fsynced once each, after
its last unit and before the ends are recorded (`store.deferred_directory_syncs`), not once per
file: no unit is recorded as stored before its file's rename is durable. A batch runs at most
about BACKFILL_STORE_BATCH_SECONDS of work: past it, the units not run go back to pending for
the next dispatch, so counts move at least that often and a slow job's units spread over every
process.

Recovery is the lease's: a worker that dies mid-batch leaves the units whose ends were recorded
ended, and the others running under a lease nobody renews. Once it expires (at once when the
batch's message comes back because its pool process was killed, `claim`) they are dispatched
again one by one (`dispatch.redispatch`), each with a token of its own and the single unit's
path (`execution.run_unit`), so that a unit that kills its runner fails alone once its attempts
are spent. A unit that ran but whose end was not recorded runs again: idempotent (it writes the
same files and counts once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from ..models import (
    TERMINAL_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    JobStatus,
    JobType,
    UnitStatus,
)
from . import assembly, dispatch, leases, locks
from .units import COUNTER_FOR, process_alive

log = logging.getLogger(__name__)

# How often a batch reads its job's status again between units (pause, cancel) and checks
# that its lease is still its own: at most once per this many seconds, before a unit. An
# operator's pause or cancel is honoured within it (and the unit running): at 250 ms a small
# analytics job cancelled at once ran all its units before the batch saw it.
STATUS_EVERY_SECONDS = 0.05


@dataclass
class End:
    """A unit of the batch that ran, and how it ended (recorded by `end`)."""

    unit: BackfillUnit
    status: str
    started_at: datetime
    finished_at: datetime
    error_type: str = ""
    message: str = ""
    retryable: bool | None = None


def claim(*, ids: Sequence[int], token: str, owner: str, pid: int) -> list[BackfillUnit]:
    """Take the lease of every unit of a dispatched batch still under `token`, for worker
    `owner`, process `pid`, in one statement that counts an attempt for each; returns them (with
    their job) in the order they run. Units already ended, or held by a live process, are not
    taken: a late or duplicate message gets nothing.

    A batch that comes back because its pool process was killed (same worker, that process
    gone: the message is delivered again) is not run again as a batch: its units' lease ends
    at once and dispatch sends them one by one (`dispatch.redispatch`), so that a unit that
    kills its runner fails alone once its attempts are spent."""
    now = timezone.now()
    fields = leases.taken_by(owner, pid, now)
    batch = BackfillUnit.objects.filter(id__in=ids, status=UnitStatus.RUNNING, lease_token=token)
    if not batch.filter(lease_owner="").update(**fields):
        dead = {
            held
            for held in batch.filter(lease_owner=owner).values_list("lease_pid", flat=True)
            if held not in (None, pid) and not process_alive(held)
        }
        lost = batch.filter(lease_owner=owner, lease_pid__in=dead)
        if dead and lost.update(lease_expires_at=now - timedelta(seconds=1)):
            log.warning("batch %s: its process %s died; its units go again one by one", token, dead)
            dispatch.request_dispatch()
        return []
    units = list(
        batch.filter(lease_owner=owner, lease_pid=pid).order_by("logical_date", "district_id", "id")
    )
    if units:
        # One job for all (a batch is one job's): read once, not once per unit's row.
        job = BackfillJob.objects.get(pk=units[0].job_id)
        for unit in units:
            unit.job = job
    return units


def renew(*, token: str) -> bool:
    """Extend the lease of the batch's running units; False when none is left under `token`
    (the batch was dispatched again, or every unit ended)."""
    return bool(
        BackfillUnit.objects.filter(status=UnitStatus.RUNNING, lease_token=token).update(
            lease_expires_at=leases.lease_until(timezone.now())
        )
    )


def job_status(*, unit_id: int, token: str) -> str | None:
    """The status of the job of a claimed batch's next unit, in one statement, or None when that
    unit is no longer the batch's (ended, or dispatched again: the batch's lease was lost)."""
    unit_table = BackfillUnit._meta.db_table
    job_table = BackfillJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT j.status FROM {unit_table} AS u JOIN {job_table} AS j ON j.id = u.job_id "
            "WHERE u.id = %s AND u.status = %s AND u.lease_token = %s",
            [unit_id, UnitStatus.RUNNING, token],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def end(
    *, job: BackfillJob, token: str, ended: Sequence[End], unstarted: Sequence[int] = ()
) -> set[int]:
    """Record the ends of a batch's units and give back those it did not run (`unstarted`:
    pending again, their claim's attempt given back; cancelled when the job is being
    cancelled) in one transaction under the job's row lock (`_record`: the units, their counts
    and the assemblies due of the dates whose last unit ended); then assemble those dates and
    request one dispatch. Returns the ids whose end was recorded: units no longer under `token`
    (dispatched again meanwhile) are left alone."""
    if not ended and not unstarted:
        return set()
    now = timezone.now()
    rows = [_ended_row(e) for e in ended]
    rows += [(unit_id, None, "", "", None, None, None, None, -1, True) for unit_id in unstarted]
    if job.job_type == JobType.PUBLISH:
        # Its one assembly, the indexes, is decided on the whole job (`assembly.dates_ended`).
        with transaction.atomic():
            job.status, changed, _ = _record(rows, token, job_id=job.pk, now=now, assemble=False)
            days = {day for status, day in changed.values() if status != UnitStatus.PENDING}
            todo = assembly.dates_ended(job, days, now=now)
    else:
        _, changed, todo = _record(
            rows, token, job_id=job.pk, now=now, assemble=assembly.writes_snapshots(job)
        )
    for assembly_id in todo:
        assembly.run_assembly(assembly_id=assembly_id)
    dispatch.request_dispatch()
    return set(changed) - set(unstarted)


def _ended_row(e: End) -> tuple:
    duration = int((e.finished_at - e.started_at).total_seconds() * 1000)
    fields = [e.unit.pk, e.status, e.error_type, e.message[:2000], e.retryable, e.started_at]
    return (*fields, e.finished_at, duration, 0, False)


# The job statuses in which a batch's units not run end cancelled rather than pending again.
_CANCELLING = [JobStatus.CANCELLING, *TERMINAL_JOB_STATUSES]


def _record(
    rows: list[tuple], token: str, *, job_id, now, assemble: bool
) -> tuple[str | None, dict[int, tuple[str, object]], list[int]]:
    """Two statements sent together (one round trip; run as one transaction unless the caller
    holds one): the job's row lock, then ONE statement that changes the units of `rows` (id,
    status, error type, message, retryable, started, finished, duration ms, attempts to add,
    whether it was given back unrun), only those still running under `token`; adds those that
    ended to their job's counters (every unit that ended counts, those cancelled unrun
    included; those given back pending don't); and, if `assemble`, records the assemblies due
    of the dates whose last unit ended (`assembly.DUE`). Returns (the job's status, {id: (its
    new status, its date)}, the assemblies' ids).

    Sent together, so that the rows other ends wait for (the job's, and the per-(job,
    district, status) counts the units' trigger keeps) are held for no round trip to this
    process, which may wait for a core. The second statement's snapshot is taken once the lock
    is held, so it sees every end committed before; and its trigger takes the counts' row locks
    in one sorted pass, as dispatch's does (several statements could deadlock)."""
    # The rows travel as one array per column: the statement's text is the same for any number
    # of rows (parsed once per connection by the driver, not 10 placeholders a row).
    columns = (
        "%s::bigint[], %s::text[], %s::text[], %s::text[], %s::boolean[], %s::timestamptz[], "
        "%s::timestamptz[], %s::integer[], %s::integer[], %s::boolean[]"
    )
    counters = sorted(COUNTER_FOR.items())
    added = ", ".join(f"{name} = j.{name} + c.{name}" for _, name in counters)
    counted = ", ".join(
        f"count(*) FILTER (WHERE status = '{status}') AS {name}" for status, name in counters
    )
    due = f", due AS ({assembly.DUE})" if assemble else ""
    due_ids = " UNION ALL SELECT id, NULL, NULL, TRUE FROM due" if assemble else ""
    jobs, units = BackfillJob._meta.db_table, BackfillUnit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"{locks.JOB_LOCK}; "
            "WITH v(id, status, error_type, error_message, retryable, started_at, finished_at, "
            f"duration, attempts, release) AS MATERIALIZED (SELECT * FROM unnest({columns})), "
            f"job AS (SELECT status = ANY(%s) AS cancelling FROM {jobs} WHERE id = %s), "
            f"changed AS (UPDATE {units} AS u SET status = CASE WHEN NOT v.release THEN v.status "
            "WHEN job.cancelling THEN %s ELSE %s END, "
            "error_type = v.error_type, error_message = v.error_message, "
            "retryable = v.retryable, "
            "started_at = CASE WHEN v.release AND NOT job.cancelling THEN NULL "
            "ELSE COALESCE(v.started_at, u.started_at) END, "
            "finished_at = CASE WHEN v.release AND job.cancelling THEN %s ELSE v.finished_at END, "
            "duration_ms = v.duration, attempts = GREATEST(u.attempts + v.attempts, 0), "
            "lease_token = CASE WHEN v.release THEN '' ELSE u.lease_token END, "
            "lease_owner = '', lease_pid = NULL, lease_expires_at = NULL "
            # The units are found by their keys (`u.id = ANY`); `v` is materialized, so a
            # join reads it for little.
            "FROM job, v WHERE u.id = ANY(%s::bigint[]) AND u.id = v.id "
            "AND u.status = %s AND u.lease_token = %s "
            "RETURNING u.id, u.status, u.logical_date), "
            "ended AS (SELECT id, status, logical_date FROM changed WHERE status <> %s), "
            f"counted AS (UPDATE {jobs} AS j SET {added}, heartbeat_at = %s "
            f"FROM (SELECT count(*) AS n, {counted} FROM ended) AS c WHERE j.id = %s AND c.n > 0)"
            f"{due} SELECT id, status, logical_date, FALSE FROM changed{due_ids}",
            [
                job_id,
                *(list(column) for column in zip(*rows, strict=True)),
                _CANCELLING,
                job_id,
                UnitStatus.CANCELLED,
                UnitStatus.PENDING,
                now,
                [r[0] for r in rows],
                UnitStatus.RUNNING,
                token,
                UnitStatus.PENDING,
                now,
                job_id,
                *([job_id, now, job_id] if assemble else []),
            ],
        )
        locked = cursor.fetchone()
        cursor.nextset()
        changed, todo = {}, []
        for row_id, status, day, is_assembly in cursor.fetchall():
            if is_assembly:
                todo.append(row_id)
            else:
                changed[row_id] = (status, day)
    return (locked[0] if locked else None), changed, todo
