"""Whether the share of each window reserved for priority jobs is needed right now.

The reserve (`BACKFILL_PRIORITY_RESERVED_SHARE`) is work-conserving: while no priority job
(above `normal`) is queued or in flight, normal jobs may use the whole window; as soon as one
is, they are held to the window less the reserve again. Whether one is comes from the database
(the jobs are the record), read at most every `PRESENCE_CACHE_SECONDS` per process: one indexed
`EXISTS` a second, not one per request. A job created meanwhile loses nothing it is owed: its
first request goes before every waiting normal one (the limiter's priority hold) and takes the
first grant that leaves the window, so it is granted within one window of its creation.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import DatabaseError

from ..models import ACTIVE_JOB_STATUSES, BackfillJob, JobPriority, JobStatus

log = logging.getLogger(__name__)

PRESENCE_CACHE_SECONDS = 1.0
# Statuses in which a priority job will send requests soon: queued, running, being cancelled
# (its units in flight finish), recovering.
PRIORITY_WAITING_STATUSES = (*ACTIVE_JOB_STATUSES, JobStatus.PENDING, JobStatus.RECOVERING)

_lock = threading.Lock()
_cached: tuple[float, bool] | None = None


def priority_jobs_present() -> bool:
    """Is a priority job queued or in flight? At most `PRESENCE_CACHE_SECONDS` old in this
    process. When the database cannot answer, the reserve is kept (True): lending it is an
    optimisation, holding it back is always safe."""
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < PRESENCE_CACHE_SECONDS:
        return cached[1]
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < PRESENCE_CACHE_SECONDS:
            return _cached[1]
        try:
            present = _read_database()
        except DatabaseError as exc:
            log.warning("priority jobs not looked up (%s): the reserve is kept", exc)
            present = True
        _cached = (time.monotonic(), present)
        return present


def _read_database() -> bool:
    return BackfillJob.objects.filter(
        priority__gt=JobPriority.NORMAL, status__in=PRIORITY_WAITING_STATUSES
    ).exists()


def clear_presence_cache() -> None:
    """Forget the cached answer, so the next `priority_jobs_present()` asks the database (the
    service that creates a priority job in this process, and tests)."""
    global _cached
    with _lock:
        _cached = None
