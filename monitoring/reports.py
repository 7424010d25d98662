"""The figures of the admin's Operations page over a window (24 h, 7 or 30 days): the seeds'
job, district, error and performance metrics, each a table (`Table`) that the page shows,
charts and offers as CSV.

Everything is read from the jobs and units of the window (their `finished_at`), except requests
per minute, which come from the shared Redis counter the dashboard client keeps per minute
(backfill_project/counters.py). Jobs and units older than BACKFILL_JOB_RETENTION_DAYS are
cleaned up, so a 30-day window shows what retention kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from backfill.models import (
    TERMINAL_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    JobStatus,
    RateLimitConfig,
    UnitStatus,
)
from backfill_project import counters

# The windows the page offers: key -> (label, length, bucket of the requests chart).
WINDOWS = {
    "24h": ("Last 24 hours", timedelta(hours=24), timedelta(minutes=15)),
    "7d": ("Last 7 days", timedelta(days=7), timedelta(hours=1)),
    "30d": ("Last 30 days", timedelta(days=30), timedelta(hours=6)),
}
DEFAULT_WINDOW = "24h"
# Units shown in the permanent-failures table (the CSV has as many).
FAILURES_SHOWN = 200


@dataclass
class Table:
    """One table of the page: its CSV name, title, columns and rows (plain values)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


@dataclass
class Report:
    window: str
    label: str
    since: datetime
    until: datetime
    tables: dict[str, Table]
    # The one-line figures above the tables.
    summary: dict[str, object]
    # Per bucket of the requests chart: (start, requests, average per minute, peak minute).
    request_buckets: list[tuple[datetime, int, float, int]]
    limit_per_minute: float
    requests_available: bool


def window_of(key: str | None) -> str:
    """The window key asked for, or the default for anything unknown."""
    return key if key in WINDOWS else DEFAULT_WINDOW


def report(window: str, *, now: datetime | None = None) -> Report:
    """Every table of the page for `window` (a key of WINDOWS), ending `now`."""
    label, length, bucket = WINDOWS[window]
    until = now or timezone.now()
    since = until - length
    units = BackfillUnit.objects.filter(finished_at__gte=since, finished_at__lte=until)
    limit = limit_per_minute(RateLimitConfig.load())
    try:
        buckets = request_buckets(since, until, bucket)
        available = True
    except redis.RedisError:
        buckets, available = [], False
    retries = retry_table(units)
    failures = failures_table(units)
    tables = {
        t.key: t
        for t in (
            job_types_table(since, until),
            districts_table(units),
            errors_table(units),
            retries,
            failures,
            requests_table(buckets, limit),
        )
    }
    return Report(
        window=window,
        label=label,
        since=since,
        until=until,
        tables=tables,
        summary={
            "permanent_failures": units.filter(status=UnitStatus.FAILED).count(),
            "retry_success_rate": retries.rows[0][3] if retries.rows else None,
            "requests": sum(b[1] for b in buckets),
            "peak_per_minute": max((b[3] for b in buckets), default=0),
        },
        request_buckets=buckets,
        limit_per_minute=limit,
        requests_available=available,
    )


def job_types_table(since: datetime, until: datetime) -> Table:
    """Per job type: jobs that ended in the window by outcome, the completion rate (completed
    over ended) and the average processing time (start to end)."""
    ended = BackfillJob.objects.filter(
        status__in=TERMINAL_JOB_STATUSES, finished_at__gte=since, finished_at__lte=until
    )
    rows = (
        ended.order_by("job_type")
        .values("job_type")
        .annotate(
            ended=Count("id"),
            completed=Count("id", filter=Q(status=JobStatus.COMPLETED)),
            partial=Count("id", filter=Q(status=JobStatus.PARTIAL_SUCCESS)),
            failed=Count("id", filter=Q(status=JobStatus.FAILED)),
            cancelled=Count("id", filter=Q(status=JobStatus.CANCELLED)),
            duration=Avg(F("finished_at") - F("started_at"), filter=Q(started_at__isnull=False)),
        )
    )
    table = Table(
        "jobs",
        "Jobs by type",
        [
            "job type",
            "ended",
            "completed",
            "partial success",
            "failed",
            "cancelled",
            "completion rate %",
            "average processing s",
        ],
    )
    for row in rows:
        duration = row["duration"]
        table.rows.append(
            [
                row["job_type"],
                row["ended"],
                row["completed"],
                row["partial"],
                row["failed"],
                row["cancelled"],
                _percent(row["completed"], row["ended"]),
                round(duration.total_seconds(), 1) if duration is not None else None,
            ]
        )
    return table


def districts_table(units) -> Table:
    """Per district: units that succeeded or failed in the window and the success rate, the
    worst first (skipped, unavailable, waiting and cancelled units say nothing of a district's
    health and are left out)."""
    rows = (
        units.filter(status__in=(UnitStatus.SUCCEEDED, UnitStatus.FAILED))
        .order_by()
        .values("district_id")
        .annotate(
            succeeded=Count("id", filter=Q(status=UnitStatus.SUCCEEDED)),
            failed=Count("id", filter=Q(status=UnitStatus.FAILED)),
        )
    )
    table = Table(
        "districts",
        "Success rate per district (worst first)",
        ["district", "succeeded", "failed", "success rate %"],
    )
    table.rows = sorted(
        (
            [
                r["district_id"],
                r["succeeded"],
                r["failed"],
                _percent(r["succeeded"], r["succeeded"] + r["failed"]),
            ]
            for r in rows
        ),
        key=lambda row: (row[3], -row[2], row[0]),
    )
    return table


def errors_table(units) -> Table:
    """Units that ended in the window with an error type, by type: failed (retryable or not)
    and ended otherwise (a date the dashboard does not serve ends `unavailable`)."""
    rows = (
        units.exclude(error_type="")
        .order_by()
        .values("error_type")
        .annotate(
            units=Count("id"),
            failed=Count("id", filter=Q(status=UnitStatus.FAILED)),
            retryable=Count("id", filter=Q(status=UnitStatus.FAILED, retryable=True)),
        )
    )
    table = Table(
        "errors",
        "Errors by type",
        [
            "error type",
            "units",
            "failed",
            "failed, retryable",
            "failed, not retryable",
            "other outcome",
        ],
    )
    for row in sorted(rows, key=lambda r: (-r["units"], r["error_type"])):
        table.rows.append(
            [
                row["error_type"],
                row["units"],
                row["failed"],
                row["retryable"],
                row["failed"] - row["retryable"],
                row["units"] - row["failed"],
            ]
        )
    return table


def retry_table(units) -> Table:
    """Units that needed more than one attempt and how they ended: the retry success rate is
    those that succeeded over those that succeeded or failed."""
    retried = units.filter(attempts__gt=1).aggregate(
        retried=Count("id"),
        succeeded=Count("id", filter=Q(status=UnitStatus.SUCCEEDED)),
        failed=Count("id", filter=Q(status=UnitStatus.FAILED)),
    )
    table = Table(
        "retries",
        "Retries",
        [
            "units retried",
            "succeeded after a retry",
            "failed after retries",
            "retry success rate %",
        ],
    )
    table.rows.append(
        [
            retried["retried"],
            retried["succeeded"],
            retried["failed"],
            _percent(retried["succeeded"], retried["succeeded"] + retried["failed"]),
        ]
    )
    return table


def failures_table(units) -> Table:
    """Units that ended `failed` in the window (final: their job gave up on them), newest
    first."""
    rows = (
        units.filter(status=UnitStatus.FAILED)
        .order_by("-finished_at")
        .values_list(
            "finished_at",
            "job_id",
            "logical_date",
            "district_id",
            "error_type",
            "attempts",
            "retryable",
            "error_message",
        )[:FAILURES_SHOWN]
    )
    table = Table(
        "failures",
        "Permanent failures",
        ["ended", "job", "date", "district", "error type", "attempts", "retryable", "message"],
    )
    for ended, job_id, day, district, error_type, attempts, retryable, message in rows:
        table.rows.append(
            [
                ended.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                str(job_id),
                day.isoformat(),
                district,
                error_type,
                attempts,
                retryable,
                message[:300],
            ]
        )
    return table


def limit_per_minute(config: RateLimitConfig) -> float:
    """The most requests a minute the configuration allows: the lower of the window's and the
    minimum delay's."""
    per_window = config.max_requests * 60_000 / max(config.window_ms, 1)
    by_delay = 60_000 / config.min_delay_ms if config.min_delay_ms else per_window
    return round(min(per_window, by_delay), 2)


def request_buckets(
    since: datetime, until: datetime, bucket: timedelta
) -> list[tuple[datetime, int, float, int]]:
    """Requests to the dashboard per bucket: (start, total, average per minute, busiest
    minute). Raises redis.RedisError when Redis is unreachable."""
    minutes = counters.per_minute(counters.DASHBOARD_REQUESTS, since=since, until=until)
    width = int(bucket.total_seconds() // 60)
    grouped: dict[datetime, list[int]] = defaultdict(list)
    start = _floor(since, bucket)
    for moment, count in minutes.items():
        grouped[_floor(moment, bucket)].append(count)
    buckets = []
    while start <= until:
        counts = grouped.get(start, [])
        buckets.append((start, sum(counts), round(sum(counts) / width, 2), max(counts, default=0)))
        start += bucket
    return buckets


def requests_table(buckets, limit: float) -> Table:
    table = Table(
        "requests",
        "Requests per minute vs the limit",
        ["from (UTC)", "requests", "average per minute", "busiest minute", "limit per minute"],
    )
    for start, total, average, peak in buckets:
        table.rows.append([start.strftime("%Y-%m-%d %H:%M"), total, average, peak, limit])
    return table


def _floor(moment: datetime, bucket: timedelta) -> datetime:
    epoch = moment.astimezone(UTC).timestamp()
    size = bucket.total_seconds()
    return datetime.fromtimestamp(epoch - epoch % size, UTC)


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None
