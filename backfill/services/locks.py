"""Every database lock the engine takes, named, and the one order they are taken in.

1. The dispatch lock (`dispatch_lock`): the `RateLimitConfig` row, FOR UPDATE. It serializes
   the transitions that touch many jobs' rows: start, dispatch, reclaim and the operator
   actions (cancel, pause, resume, retry).
2. A job's row lock (`job_lock`): its counters, its units' ends and "the last unit of a date"
   are decided by one process at a time.

Order: the dispatch lock, if taken, first, then job locks. A transaction holding a job's lock
never waits for the dispatch lock, so a unit's end takes only its job's lock, commits, and only
then dispatches under the dispatch lock. No file I/O happens inside a transaction holding a
lock other workers wait for. (Redis locks, for work one process does for all, live where that
work is: `closing_dates.one_at_a_time`, `backfill_project.redis_locks`.)

Both must be called inside a transaction.
"""

from __future__ import annotations

from typing import Any

from ..models import BackfillJob, RateLimitConfig


def dispatch_lock() -> RateLimitConfig:
    """Take the global dispatch lock (lock 1)."""
    pk = RateLimitConfig.load().pk
    return RateLimitConfig.objects.select_for_update().get(pk=pk)


def job_lock(job_id: Any) -> BackfillJob:
    """Lock one job's row (lock 2, after the dispatch lock if that is taken) and return it."""
    return BackfillJob.objects.select_for_update().get(pk=job_id)
