"""The Backfill collector of `/metrics`: read when scraped, from the database and Redis.

Nothing here is kept in the web process. Gauges are what the database and Redis hold now; the
`_total` counters are the shared Redis counters of `backfill_project/counters.py` (every process
adds to them, so they are monotonic across processes and restarts). Each section runs its own
queries under a statement timeout (`METRICS_QUERY_TIMEOUT_MS`, PostgreSQL) and the limits'
short Redis timeouts; a section that fails is left out of that scrape and reported in
`backfill_scrape_errors{section}`, so one slow table never costs the whole scrape. Every
query is a GROUP BY over an index, an aggregate of the per-district unit counts (PostgreSQL) or
a handful of rows.

Not measured: publish lag (no publish job writes anything yet: the website app has no tables).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from analytics.models import AnalyticsKind, AnalyticsOutput
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    JobPriority,
    SnapshotAssembly,
    UnitCount,
    UnitStatus,
)
from backfill.selectors.performance import dashboard_performance
from backfill_project import counters
from snapshots import store
from snapshots.models import Snapshot

log = logging.getLogger(__name__)

# Units that carry an error type while they are not finished (a retry is coming) or for good.
ERROR_STATUSES = (UnitStatus.FAILED, UnitStatus.PENDING, UnitStatus.RUNNING)
BREAKER_STATES = ("closed", "open", "half_open")


def bounded(section: Callable[[], list[Metric]]) -> list[Metric]:
    """Run one section's queries in a transaction of their own whose statements stop after
    METRICS_QUERY_TIMEOUT_MS (PostgreSQL; other databases run them as they are)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    [str(settings.METRICS_QUERY_TIMEOUT_MS)],
                )
        return section()


def jobs_section() -> list[Metric]:
    jobs = GaugeMetricFamily(
        "backfill_jobs", "Jobs by status, type and priority.", labels=["status", "type", "priority"]
    )
    rows = BackfillJob.objects.order_by().values("status", "job_type", "priority")
    for row in rows.annotate(n=Count("id")):
        label = JobPriority(row["priority"]).label
        jobs.add_metric([row["status"], row["job_type"], label], row["n"])
    return [jobs]


def units_section() -> list[Metric]:
    units = GaugeMetricFamily("backfill_units", "Units by status.", labels=["status"])
    if connection.vendor == "postgresql":
        # The per-district counts the unit table's triggers keep (backfill 0007): no unit scan.
        by_status = UnitCount.objects.order_by().values("status").annotate(n=Sum("count"))
    else:
        by_status = BackfillUnit.objects.order_by().values("status").annotate(n=Count("id"))
    for row in by_status:
        units.add_metric([row["status"]], row["n"] or 0)
    errors = GaugeMetricFamily(
        "backfill_unit_errors",
        "Units with an error, by status (failed for good, or pending/running a retry) and "
        "error type.",
        labels=["status", "error_type"],
    )
    rows = (
        BackfillUnit.objects.filter(status__in=ERROR_STATUSES)
        .exclude(error_type="")
        .order_by()
        .values("status", "error_type")
        .annotate(n=Count("id"))
    )
    for row in rows:
        errors.add_metric([row["status"], row["error_type"]], row["n"])
    return [units, errors]


def counters_section() -> list[Metric]:
    """The shared Redis counters."""
    requests = CounterMetricFamily(
        "backfill_dashboard_requests",
        "Requests sent to the dashboard, by outcome (200, 3xx, 4xx, 429, 5xx, timeout, "
        "network_error), from every worker.",
        labels=["outcome"],
    )
    for outcome, value in sorted(counters.totals(counters.DASHBOARD_REQUESTS).items()):
        requests.add_metric([outcome], value)
    metrics: list[Metric] = [requests]
    for name, documentation in (
        (counters.COOLDOWNS, "Shared 429 (or 503 Retry-After) cooldowns started."),
        (counters.BREAKER_OPENS, "Times the shared circuit breaker opened."),
        (counters.LEASE_RECLAIMS, "Running units whose holder was lost, dispatched again."),
    ):
        metrics.append(
            CounterMetricFamily(
                f"backfill_{name}", documentation, value=sum(counters.totals(name).values())
            )
        )
    return metrics


def limits_section() -> list[Metric]:
    """The limiter, breaker and concurrency as the job page shows them (`dashboard_performance`,
    which reads Redis with the limits' timeouts and reports None without it)."""
    status = dashboard_performance()
    if not status["redisAvailable"]:
        raise redis.ConnectionError("Redis unreachable: limiter and breaker not read")
    limiter, breaker, slots = status["rateLimiter"], status["circuitBreaker"], status["concurrency"]
    cache = status["intermediateCache"]
    state = GaugeMetricFamily(
        "backfill_breaker_state",
        "The shared circuit breaker's state (1 = current).",
        labels=["state"],
    )
    for name in BREAKER_STATES:
        state.add_metric([name], 1 if breaker["state"] == name else 0)
    max_requests = max(limiter["maxRequests"], 1)
    return [
        state,
        _gauge(
            "backfill_breaker_failures",
            "Failures in a row counted by the breaker.",
            breaker["failures"],
        ),
        _gauge(
            "backfill_limiter_utilization_ratio",
            "Grants in the current rate-limit window over maxRequests.",
            limiter["currentCount"] / max_requests,
        ),
        _gauge(
            "backfill_limiter_window_requests",
            "Grants in the current window.",
            limiter["currentCount"],
        ),
        _gauge("backfill_limiter_max_requests", "maxRequests per window.", limiter["maxRequests"]),
        _gauge(
            "backfill_limiter_effective_delay_seconds",
            "Minimum delay between two requests in force (configured + adaptive).",
            limiter["effectiveDelayMs"] / 1000,
        ),
        _gauge(
            "backfill_cooldown_remaining_seconds",
            "Time left of the shared 429 cooldown (0: none).",
            limiter["cooldownRemainingMs"] / 1000,
        ),
        _gauge("backfill_units_in_flight", "Units running across active jobs.", slots["active"]),
        _gauge(
            "backfill_units_waiting_for_slot",
            "Units of active jobs not yet running (waiting for a concurrency slot).",
            slots["queued"],
        ),
        _gauge(
            "backfill_concurrency_max", "Units that may run at once (max_concurrent).", slots["max"]
        ),
        CounterMetricFamily(
            "backfill_response_cache_hits", "Response cache hits.", value=cache["hits"]
        ),
        CounterMetricFamily(
            "backfill_response_cache_misses", "Response cache misses.", value=cache["misses"]
        ),
    ]


def store_section() -> list[Metric]:
    snapshot_bytes = Snapshot.objects.aggregate(n=Sum("size_bytes"))["n"] or 0
    analytics_bytes = AnalyticsOutput.objects.aggregate(n=Sum("size_bytes"))["n"] or 0
    stored = GaugeMetricFamily(
        "backfill_store_bytes", "Bytes of stored files, from the index.", labels=["kind"]
    )
    stored.add_metric(["district_files"], snapshot_bytes)
    stored.add_metric(["analytics"], analytics_bytes)
    metrics: list[Metric] = [
        stored,
        _gauge(
            "backfill_assemblies_pending",
            "Dates whose snapshot is still to be assembled.",
            SnapshotAssembly.objects.count(),
        ),
        _gauge(
            "backfill_store_writable",
            "1 while the snapshot store takes writes, 0 while full, read-only or refusing.",
            0 if store.store_condition() else 1,
        ),
    ]
    free = store.free_space()
    if free is not None:  # a bucket has no free space to speak of
        metrics.append(_gauge("backfill_store_free_bytes", "Free space of the store.", free))
    return metrics


def lag_section() -> list[Metric]:
    """Newest stored snapshot date against the newest date with analytics (rankings)."""
    newest_snapshot = Snapshot.objects.aggregate(d=Max("logical_date"))["d"]
    newest_analytics = AnalyticsOutput.objects.filter(kind=AnalyticsKind.RANKINGS).aggregate(
        d=Max("logical_date")
    )["d"]
    metrics: list[Metric] = []
    if newest_snapshot is not None:
        metrics.append(
            _gauge(
                "backfill_newest_snapshot_date_seconds",
                "The newest stored snapshot's date (Unix time of its midnight UTC).",
                _epoch(newest_snapshot),
            )
        )
    if newest_analytics is not None:
        metrics.append(
            _gauge(
                "backfill_newest_analytics_date_seconds",
                "The newest date with analytics (rankings), Unix time of its midnight UTC.",
                _epoch(newest_analytics),
            )
        )
    if newest_snapshot is not None:
        lag = (newest_snapshot - newest_analytics).days if newest_analytics else None
        metrics.append(
            _gauge(
                "backfill_analytics_lag_days",
                "Days from the newest analytics date to the newest stored date (-1: no "
                "analytics at all).",
                -1 if lag is None else max(lag, 0),
            )
        )
    return metrics


SECTIONS: dict[str, Callable[[], list[Metric]]] = {
    "jobs": lambda: bounded(jobs_section),
    "units": lambda: bounded(units_section),
    "counters": counters_section,
    "limits": lambda: bounded(limits_section),
    "store": lambda: bounded(store_section),
    "lag": lambda: bounded(lag_section),
}


class BackfillCollector(Collector):
    """Every section of this module, each timed; a failed one is logged and flagged."""

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "backfill_scrape_errors",
            "1 when a section could not be read in this scrape (its metrics are missing).",
            labels=["section"],
        )
        durations = GaugeMetricFamily(
            "backfill_scrape_duration_seconds", "Time each section took.", labels=["section"]
        )
        for name, section in SECTIONS.items():
            started = time.monotonic()
            try:
                metrics = section()
            except (DatabaseError, redis.RedisError, OSError) as exc:
                log.warning("metrics section %s not read: %s", name, exc)
                metrics = []
                errors.add_metric([name], 1)
            else:
                errors.add_metric([name], 0)
            durations.add_metric([name], time.monotonic() - started)
            yield from metrics
        yield errors
        yield durations


def backfill_registry() -> CollectorRegistry:
    """A registry holding only the Backfill collector (the process's own metrics, HTTP and
    database from django-prometheus, are in prometheus_client's default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BackfillCollector())
    return registry


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
