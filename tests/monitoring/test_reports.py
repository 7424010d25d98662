"""monitoring/reports.py: the Operations page's figures over a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backfill.models import JobStatus, JobType, UnitStatus
from backfill_project import counters
from monitoring import reports
from tests.factories import BackfillJobFactory, BackfillUnitFactory

pytestmark = pytest.mark.django_db


def ended(job, district, status, *, ago=timedelta(hours=1), error_type="", attempts=1, **fields):
    return BackfillUnitFactory(
        job=job,
        district_id=district,
        status=status,
        error_type=error_type,
        attempts=attempts,
        finished_at=timezone.now() - ago,
        **fields,
    )


def test_jobs_by_type_completion_rate_and_processing_time():
    now = timezone.now()
    for status, minutes in ((JobStatus.COMPLETED, 10), (JobStatus.FAILED, 30)):
        BackfillJobFactory(
            status=status,
            started_at=now - timedelta(minutes=minutes + 5),
            finished_at=now - timedelta(minutes=5),
        )
    BackfillJobFactory(
        job_type=JobType.ANALYTICS_GENERATION,
        status=JobStatus.COMPLETED,
        started_at=now - timedelta(days=3),
        finished_at=now - timedelta(days=2),
    )
    BackfillJobFactory(status=JobStatus.RUNNING, started_at=now)  # not ended: not counted

    rows = reports.report("24h").tables["jobs"].rows
    assert rows == [["data-collection", 2, 1, 0, 1, 0, 50.0, 1200.0]]
    week = {row[0]: row for row in reports.report("7d").tables["jobs"].rows}
    assert week["analytics-generation"][6] == 100.0


def test_districts_worst_first_errors_retries_and_permanent_failures():
    job = BackfillJobFactory(status=JobStatus.PARTIAL_SUCCESS)
    ended(job, "42", UnitStatus.SUCCEEDED, attempts=2)
    ended(job, "61", UnitStatus.FAILED, error_type="timeout_error", attempts=3, retryable=True)
    ended(job, "F", UnitStatus.SUCCEEDED)
    other = BackfillJobFactory(status=JobStatus.COMPLETED)
    ended(other, "61", UnitStatus.SUCCEEDED)
    ended(other, "7", UnitStatus.UNAVAILABLE, error_type="data_unavailable")
    ended(
        other,
        "8",
        UnitStatus.FAILED,
        error_type="fetch_failed",
        retryable=False,
        ago=timedelta(days=2),
    )

    day = reports.report("24h")
    assert day.tables["districts"].rows == [
        ["61", 1, 1, 50.0],
        ["42", 1, 0, 100.0],
        ["F", 1, 0, 100.0],
    ]
    assert day.tables["errors"].rows == [
        ["data_unavailable", 1, 0, 0, 0, 1],
        ["timeout_error", 1, 1, 1, 0, 0],
    ]
    assert day.tables["retries"].rows == [[2, 1, 1, 50.0]]
    assert [row[3] for row in day.tables["failures"].rows] == ["61"]
    assert day.summary["permanent_failures"] == 1
    week = reports.report("7d")
    assert week.summary["permanent_failures"] == 2
    assert week.tables["districts"].rows[0][:3] == ["8", 0, 1]


def test_requests_per_minute_against_the_limit():
    # The middle of the last whole 15-minute bucket: this minute and the one before share it
    # whatever the clock says (buckets start at :00, :15, :30, :45).
    wall = datetime.now(UTC)
    now = wall.replace(minute=wall.minute - wall.minute % 15, second=30, microsecond=0)
    now -= timedelta(minutes=8)
    for _ in range(4):
        counters.increment(counters.DASHBOARD_REQUESTS, "200", per_minute=True, now=now.timestamp())
    counters.increment(
        counters.DASHBOARD_REQUESTS,
        "200",
        per_minute=True,
        now=(now - timedelta(minutes=1)).timestamp(),
    )
    report = reports.report("24h", now=now)
    # The default configuration: 10 per 60 s with 2 s between: 10 a minute.
    assert report.limit_per_minute == 10
    assert report.summary["peak_per_minute"] >= 4
    last = report.request_buckets[-1]
    assert last[1] >= 5 and last[3] >= 4
    assert len(report.request_buckets) in (96, 97)  # 15-minute buckets over 24 h


def test_an_unknown_window_is_the_default():
    assert reports.window_of("1y") == "24h"
    assert reports.window_of("30d") == "30d"
