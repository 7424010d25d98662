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
stops. The ends are recorded together (`end`): one transaction under the job's row lock for
the whole batch (the units' ends in one statement, one counter update, the dates whose last
unit ended), then the dates' assemblies, then one dispatch request. A batch runs at most about
BACKFILL_STORE_BATCH_SECONDS of work: past it, the units not run go back to pending for the
next dispatch, so counts move at least that often and a slow job's units spread over every
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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import TERMINAL_JOB_STATUSES, BackfillJob, BackfillUnit, JobStatus, UnitStatus
from . import assembly, dispatch, leases, locks
from .units import COUNTER_FOR, process_alive

log = logging.getLogger(__name__)

# How often a batch reads its job's status again between units (pause, cancel) and checks
# that its lease is still its own: at most once per this many seconds, before a unit.
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
    return list(
        batch.filter(lease_owner=owner, lease_pid=pid)
        .select_related("job")
        .order_by("logical_date", "district_id", "id")
    )


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


def end(*, job_id, token: str, ended: Sequence[End], unstarted: Sequence[int] = ()) -> set[int]:
    """Record the ends of a batch's units and give back those it did not run (`unstarted`:
    pending again, their claim's attempt given back; cancelled when the job is being
    cancelled), in one transaction under the job's row lock: one statement for the units, one
    counter update; then assemble the dates whose last unit ended and request one dispatch.
    Returns the ids whose end was recorded: units no longer under `token` (dispatched again
    meanwhile) are left alone."""
    if not ended and not unstarted:
        return set()
    now = timezone.now()
    todo: list[int] = []
    with transaction.atomic():
        job = locks.job_lock(job_id)
        cancelling = job.status == JobStatus.CANCELLING or job.status in TERMINAL_JOB_STATUSES
        rows = [_ended_row(e) for e in ended]
        back = UnitStatus.CANCELLED if cancelling else UnitStatus.PENDING
        rows += [
            (unit_id, back, "", "", None, None, now if cancelling else None, None, -1, True)
            for unit_id in unstarted
        ]
        changed = _update(rows, token)
        # Every unit that ended counts, those cancelled unrun included; those given back don't.
        counts = Counter(
            COUNTER_FOR[status] for status, _ in changed.values() if status != UnitStatus.PENDING
        )
        days = {day for status, day in changed.values() if status != UnitStatus.PENDING}
        if counts:
            BackfillJob.objects.filter(pk=job_id).update(
                **{name: F(name) + n for name, n in counts.items()}, heartbeat_at=now
            )
        for day in sorted(days):
            assembly_id = assembly.date_ended(job, day, now=now)
            if assembly_id is not None:
                todo.append(assembly_id)
    for assembly_id in todo:
        assembly.run_assembly(assembly_id=assembly_id)
    dispatch.request_dispatch()
    return set(changed) - set(unstarted)


def _ended_row(e: End) -> tuple:
    duration = int((e.finished_at - e.started_at).total_seconds() * 1000)
    fields = [e.unit.pk, e.status, e.error_type, e.message[:2000], e.retryable, e.started_at]
    return (*fields, e.finished_at, duration, 0, False)


def _update(rows: list[tuple], token: str) -> dict[int, tuple[str, object]]:
    """Change the units of `rows` (id, status, error type, message, retryable, started, finished,
    duration ms, attempts to add, whether the lease token goes) in ONE statement, only those
    still running under `token`: {id: (its new status, its date)}. One statement, because the
    per-(job, district, status) counts' trigger then takes its row locks in one sorted pass, as
    dispatch's does: two transactions that each took them over several statements could
    deadlock."""
    row = (
        "(%s::bigint, %s, %s, %s, %s::boolean, %s::timestamptz, %s::timestamptz, %s::integer, "
        "%s::integer, %s::boolean)"
    )
    table = BackfillUnit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS u SET status = v.status, error_type = v.error_type, "
            "error_message = v.error_message, retryable = v.retryable, "
            "started_at = CASE WHEN v.status = %s THEN NULL "
            "ELSE COALESCE(v.started_at, u.started_at) END, "
            "finished_at = v.finished_at, duration_ms = v.duration, "
            "attempts = GREATEST(u.attempts + v.attempts, 0), "
            "lease_token = CASE WHEN v.release THEN '' ELSE u.lease_token END, "
            "lease_owner = '', lease_pid = NULL, lease_expires_at = NULL "
            f"FROM (VALUES {', '.join([row] * len(rows))}) AS v(id, status, error_type, "
            "error_message, retryable, started_at, finished_at, duration, attempts, release) "
            "WHERE u.id = v.id AND u.status = %s AND u.lease_token = %s "
            "RETURNING u.id, u.status, u.logical_date",
            [UnitStatus.PENDING, *(value for r in rows for value in r), UnitStatus.RUNNING, token],
        )
        return {unit_id: (status, day) for unit_id, status, day in cursor.fetchall()}
