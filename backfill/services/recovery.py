"""Recovery: units whose holder died or whose message was lost are dispatched again, and jobs
whose heartbeat went stale are resumed. For beat (every 10 s) and every worker at start.

A running unit is lost when its lease expired (its holder died; or it was not claimed within a
third of the lease: its message was lost with Redis or reserved by a worker that died) or when
its worker no longer answers a ping. A unit held by a live process is never sent again, so no
unit runs twice at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError

from snapshots import store

from ..models import ACTIVE_JOB_STATUSES, BackfillJob, BackfillUnit, UnitStatus
from . import assembly, dispatch, leases

log = logging.getLogger(__name__)


def alive_workers() -> set[str] | None:
    """Hostnames of the Celery workers that answer a ping within
    BACKFILL_WORKER_PING_TIMEOUT_SECONDS; None when the broker cannot be asked (then only
    expired leases count as lost)."""
    try:
        # A connection of its own, closed at once: the app's shared producer pool would be
        # inherited, in use, by processes this one forks.
        with current_app.connection_for_write() as connection_:
            replies = current_app.control.ping(
                timeout=settings.BACKFILL_WORKER_PING_TIMEOUT_SECONDS, connection=connection_
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
        config = dispatch.hold_dispatch_lock()
        now = timezone.now()
        lost = Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
        if alive is not None:
            # A live holder renewed its lease within a third of it; one that renewed after the
            # ping went out is judged by the next ping.
            lost |= (
                ~Q(lease_owner="")
                & ~Q(lease_owner__in=alive)
                & Q(lease_expires_at__lte=leases.lease_until(pinged_at))
            )
        recovered = dispatch.redispatch(
            BackfillUnit.objects.filter(status=UnitStatus.RUNNING).filter(lost), now=now
        )
        assembly.reclaim_assemblies(now=now)
        dispatch.dispatch_locked(config)
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
        config = dispatch.hold_dispatch_lock()
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
        recovered += dispatch.redispatch(unsent, now=timezone.now())
        dispatch.dispatch_locked(config)
    dispatch.start_queued_jobs()
    return sorted(set(recovered), key=recovered.index)
