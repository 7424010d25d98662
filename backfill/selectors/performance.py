"""The limits' state and configuration as the status pages show them."""

from __future__ import annotations

from typing import Any

from django.db import connection

from ..limits import performance_status
from ..models import (
    ACTIVE_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    RateLimitConfig,
    UnitStatus,
)


def rate_limit_config() -> RateLimitConfig:
    """The one rate-limit configuration row."""
    return RateLimitConfig.load()


# Units planned and finished across active jobs (their counters) and units in flight, in one
# statement (written out: the poll path pays no query compilation).
_ACTIVE_TOTALS_SQL = """
SELECT sum(j.total_units),
       sum(j.succeeded_units + j.skipped_units + j.unavailable_units + j.failed_units
           + j.cancelled_units),
       (SELECT count(*) FROM {unit} u
        WHERE u.status = %s
          AND u.job_id IN (SELECT a.id FROM {job} a WHERE a.status IN ({statuses})))
FROM {job} j
WHERE j.status IN ({statuses})
"""


def dashboard_performance() -> dict[str, Any]:
    """The limits' performance status with the engine's concurrency: units in flight and units
    still queued across active jobs. Queued units come from the jobs' counters (kept equal to
    the units by the services), so this never scans a job's units: it is on the polled path."""
    statuses = ", ".join(["%s"] * len(ACTIVE_JOB_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            _ACTIVE_TOTALS_SQL.format(
                job=BackfillJob._meta.db_table,
                unit=BackfillUnit._meta.db_table,
                statuses=statuses,
            ),
            [UnitStatus.RUNNING, *ACTIVE_JOB_STATUSES, *ACTIVE_JOB_STATUSES],
        )
        total, finished, running = cursor.fetchone()
    queued = (total or 0) - (finished or 0) - running
    return performance_status(active_units=running, queued_units=max(queued, 0))
