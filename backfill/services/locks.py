"""Every database lock the engine takes, named, and the one order they are taken in.

1. The dispatch lock (`dispatch_lock`): the `RateLimitConfig` row, FOR UPDATE. It serializes
   the transitions that touch many jobs' rows: start, dispatch, reclaim and the operator
   actions (cancel, pause, resume, retry). A unit's end never waits for it: it asks for a
   dispatch and takes the lock only if it is free (`try_dispatch_lock`); whoever holds it
   drains the requests that came meanwhile once it lets go (`dispatch.request_dispatch`).
2. A job's row lock (`job_lock`): its counters, its units' ends and "the last unit of a date"
   are decided by one process at a time. It is `FOR NO KEY UPDATE`, not `FOR UPDATE`: holders
   still wait for each other, but not for the foreign-key checks of rows that reference the job
   (`FOR KEY SHARE`). A dispatch that adds a per-district counter row (the units' trigger,
   `UnitCount`) checks its job key at commit, after it has updated other counters of the job;
   with `FOR UPDATE`, a unit's end holding the job's row and waiting for one of those counters
   made a deadlock with it (seen at 16 processes: the end failed, its units waited for their
   lease to run out).

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

# `RateLimitConfig.load` keeps the one configuration row at this primary key.
CONFIG_PK = 1


def dispatch_lock() -> RateLimitConfig:
    """Take the global dispatch lock (lock 1), waiting for it; returns the locked row (the
    rate-limit configuration dispatch reads)."""
    row = RateLimitConfig.objects.select_for_update().filter(pk=CONFIG_PK).first()
    if row is None:
        RateLimitConfig.load()  # the first use: the row is created
        row = RateLimitConfig.objects.select_for_update().get(pk=CONFIG_PK)
    return row


def try_dispatch_lock() -> RateLimitConfig | None:
    """Take the dispatch lock only if nobody holds it (`SKIP LOCKED`): the locked row, or None
    at once when another transaction holds it. Its holder drains the dispatch requests when it
    lets go, so the caller need not wait."""
    row = RateLimitConfig.objects.select_for_update(skip_locked=True).filter(pk=CONFIG_PK).first()
    if row is None and not RateLimitConfig.objects.filter(pk=CONFIG_PK).exists():
        return dispatch_lock()  # the first use: nobody can hold a row not yet created
    return row


# Lock 2 as a statement (parameter: the job's id; its row: the job's status), for a caller that
# sends it together with the statements it guards, in one round trip (`batches`).
JOB_LOCK = f"SELECT status FROM {BackfillJob._meta.db_table} WHERE id = %s FOR NO KEY UPDATE"


def job_lock(job_id: Any) -> BackfillJob:
    """Lock one job's row (lock 2, after the dispatch lock if that is taken) and return it."""
    return BackfillJob.objects.select_for_update(no_key=True).get(pk=job_id)
