"""A unit's life on a worker: claim its lease, renew it, and end the unit (finished, requeued
for a retry, or released back to its queue), plus the job heartbeat a running unit keeps.

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

A unit's end takes only its job's row lock (`locks`), then assembles its date's snapshot with
no database lock held (`assembly`), then asks for a dispatch, never waiting for the dispatch
lock (`dispatch.request_dispatch`).
"""

from __future__ import annotations

import logging
import os

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import BackfillJob, BackfillUnit, JobStatus, UnitStatus
from . import assembly, broker, dispatch, leases, locks

log = logging.getLogger(__name__)

# Unit status -> the job counter that counts it.
COUNTER_FOR = {
    UnitStatus.SUCCEEDED: "succeeded_units",
    UnitStatus.SKIPPED: "skipped_units",
    UnitStatus.UNAVAILABLE: "unavailable_units",
    UnitStatus.FAILED: "failed_units",
    UnitStatus.CANCELLED: "cancelled_units",
    UnitStatus.WAITING: "waiting_units",
}


def claim_unit(*, unit_id: int, token: str, owner: str, pid: int) -> bool:
    """Take the lease of a dispatched unit for the worker `owner` (Celery hostname), process
    `pid`. True when this caller now holds it and should run it; False for a late or duplicate
    message (another token, the unit already ended or held by a live process).

    A message that comes back because its pool process was killed (same token, same worker,
    that process gone) takes the unit over at once instead of waiting for the lease to end.
    """
    now = timezone.now()
    fields = leases.taken_by(owner, pid, now)
    free = BackfillUnit.objects.filter(pk=unit_id, status=UnitStatus.RUNNING, lease_token=token)
    if free.filter(lease_owner="").update(**fields):
        return True
    held = free.exclude(lease_owner="").filter(lease_owner=owner).first()
    if held is None or held.lease_pid in (None, pid) or process_alive(held.lease_pid):
        return False
    taken = free.filter(lease_owner=owner, lease_pid=held.lease_pid).update(**fields)
    if taken:
        log.warning("unit %s: taken from dead process %s of %s", unit_id, held.lease_pid, owner)
    return bool(taken)


def process_alive(pid: int) -> bool:
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
        ).update(lease_expires_at=leases.lease_until(timezone.now()))
    )


def finish_unit(
    *,
    unit_id: int,
    status: str,
    token: str,
    error_type: str = "",
    message: str = "",
    retryable: bool | None = None,
    requests_made: int = 0,
    claimed: BackfillUnit | None = None,
) -> bool:
    """Record a unit's end, assemble its date's snapshot if it was the date's last unit, and
    dispatch the next units of every running job. Returns False (and does nothing) if the unit
    had already ended or if its lease is no longer the caller's `token`: a
    redelivered or superseded unit never counts twice. `claimed`: the unit as its runner read
    it after the claim (saves reading it again).

    Three steps, none holding a lock another job needs while it does file I/O: the unit's end
    and its job's counters under the job's row lock (and, for the date's last unit, the
    `SnapshotAssembly` row); the assembly, with no database lock; a dispatch request, which
    never waits for the dispatch lock."""
    now = timezone.now()
    todo = None
    # Read before the job's lock; the update below re-checks status and token under it (a
    # unit dispatched again meanwhile has another token, and its `started_at` is not used).
    if claimed is None:
        claimed = (
            BackfillUnit.objects.select_related("job")
            .filter(pk=unit_id, status=UnitStatus.RUNNING, lease_token=token)
            .first()
        )
        if claimed is None:
            return False
    started = claimed.started_at or now
    with transaction.atomic():
        # The counter's update takes the job's row lock (lock 2) in the statement that needs
        # it, and is rolled back below if the unit is no longer the caller's: the lock is held
        # for as few round trips as can be.
        BackfillJob.objects.filter(pk=claimed.job_id).update(
            **{COUNTER_FOR[status]: F(COUNTER_FOR[status]) + 1}, heartbeat_at=now
        )
        ended = BackfillUnit.objects.filter(
            pk=unit_id, status=UnitStatus.RUNNING, lease_token=token
        ).update(
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
        if not ended:
            transaction.set_rollback(True)  # the counter counted a unit that was not ours
            return False
        todo = assembly.date_ended(claimed.job, claimed.logical_date, now=now)
    if todo is not None:
        assembly.run_assembly(assembly_id=todo)
    dispatch.request_dispatch()
    return True


def requeue_unit(*, unit_id: int, countdown: float, token: str, requests_made: int = 0) -> bool:
    """Run a unit again later (transient error): it keeps its slot in the window meanwhile,
    under a new lease token that the delayed message carries. Adds `requests_made` to the
    unit's count. False (nothing sent) when the caller's `token` no longer holds the unit."""
    now = timezone.now()
    with transaction.atomic():
        current = BackfillUnit.objects.filter(
            pk=unit_id, status=UnitStatus.RUNNING, lease_token=token
        )
        new_token = leases.new_token()
        moved = current.update(
            lease_token=new_token,
            lease_owner="",
            lease_pid=None,
            lease_expires_at=leases.claim_deadline(now, extra=countdown),
            requests_made=F("requests_made") + requests_made,
        )
        if moved:
            transaction.on_commit(
                lambda: broker.send_units([unit_id], new_token, countdown=countdown)
            )
    return bool(moved)


def release_unit(*, unit_id: int, token: str, requests_made: int = 0) -> bool:
    """Put a running unit back in its job's queue, its attempt not counted: it could not write
    because the snapshot store cannot take writes (full, read-only), no fault of its own.
    Dispatch sends it again once the store takes writes. Adds `requests_made` to the unit's
    count. False (nothing changed) when `token` no longer holds the unit, or when its job is
    being cancelled (the caller then ends the unit cancelled)."""
    with transaction.atomic():
        row = BackfillUnit.objects.filter(pk=unit_id).values("job_id").first()
        if row is None:
            return False
        job = locks.job_lock(row["job_id"])
        if job.status == JobStatus.CANCELLING or job.is_terminal:
            return False
        current = BackfillUnit.objects.filter(
            pk=unit_id, status=UnitStatus.RUNNING, lease_token=token
        )
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
        dispatch.request_dispatch()
    return bool(moved)


def touch_heartbeat(*, job_id: str) -> str:
    """Record that the job is alive; returns its current status (for cooperative cancel)."""
    BackfillJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
    return BackfillJob.objects.values_list("status", flat=True).get(pk=job_id)
