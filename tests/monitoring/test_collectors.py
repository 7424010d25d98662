"""monitoring/collectors.py: what a scrape reads from the database and Redis, moving with them."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from analytics.models import AnalyticsKind, AnalyticsOutput
from backfill.models import BackfillUnit, JobPriority, JobStatus, SnapshotAssembly, UnitStatus
from backfill_project import counters
from monitoring.collectors import backfill_registry
from snapshots.models import Snapshot
from tests.factories import BackfillJobFactory, BackfillUnitFactory

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float | None:
    return backfill_registry().get_sample_value(name, labels)


def test_jobs_are_counted_by_status_type_and_priority():
    BackfillJobFactory(status=JobStatus.RUNNING, priority=JobPriority.DAILY)
    BackfillJobFactory(status=JobStatus.RUNNING, priority=JobPriority.DAILY)
    job = BackfillJobFactory(status=JobStatus.PENDING)
    labels = {"type": "data-collection"}
    assert sample("backfill_jobs", status="running", priority="daily", **labels) == 2
    assert sample("backfill_jobs", status="pending", priority="normal", **labels) == 1

    job.status = JobStatus.FAILED
    job.save()
    assert sample("backfill_jobs", status="pending", priority="normal", **labels) is None
    assert sample("backfill_jobs", status="failed", priority="normal", **labels) == 1


def test_units_move_with_their_status_and_error_type():
    job = BackfillJobFactory(status=JobStatus.RUNNING)
    first = BackfillUnitFactory(job=job, district_id="42")
    BackfillUnitFactory(job=job, district_id="61")
    assert sample("backfill_units", status="pending") == 2

    BackfillUnit.objects.filter(pk=first.pk).update(
        status=UnitStatus.FAILED, error_type="timeout_error"
    )
    assert sample("backfill_units", status="pending") == 1
    assert sample("backfill_units", status="failed") == 1
    assert sample("backfill_unit_errors", status="failed", error_type="timeout_error") == 1


def test_counters_come_from_redis_shared_by_every_process():
    before = sample("backfill_dashboard_requests_total", outcome="429") or 0
    opens = sample("backfill_breaker_opens_total")
    counters.increment(counters.DASHBOARD_REQUESTS, "429")
    counters.increment(counters.BREAKER_OPENS)
    assert sample("backfill_dashboard_requests_total", outcome="429") == before + 1
    assert sample("backfill_breaker_opens_total") == opens + 1


def test_limits_waiting_units_assemblies_store_and_lag():
    job = BackfillJobFactory(status=JobStatus.RUNNING, total_units=3)
    BackfillUnitFactory(job=job, district_id="1", status=UnitStatus.RUNNING)
    assert sample("backfill_units_in_flight") == 1
    assert sample("backfill_units_waiting_for_slot") == 2
    assert sample("backfill_breaker_state", state="closed") == 1
    assert sample("backfill_limiter_max_requests") == 10
    assert 0 <= sample("backfill_limiter_utilization_ratio") <= 1

    SnapshotAssembly.objects.create(
        job=job, logical_date=date(2025, 3, 10), created_at=timezone.now()
    )
    assert sample("backfill_assemblies_pending") == 1

    now = timezone.now()
    for day in (10, 12):
        Snapshot.objects.create(
            logical_date=date(2025, 3, day),
            as_of_date=date(2025, 3, day),
            status="completed",
            size_bytes=1_000,
            created_at=now,
            updated_at=now,
        )
    assert sample("backfill_store_bytes", kind="district_files") == 2_000
    assert sample("backfill_analytics_lag_days") == -1
    AnalyticsOutput.objects.create(
        kind=AnalyticsKind.RANKINGS,
        program_year="2024-2025",
        logical_date=date(2025, 3, 10),
        name="analytics/rankings/2025-03-10.json",
        size_bytes=500,
        sha256="0" * 64,
        generated_at=now,
    )
    assert sample("backfill_analytics_lag_days") == 2
    assert sample("backfill_store_bytes", kind="analytics") == 500
    assert sample("backfill_store_writable") == 1


def test_a_section_that_cannot_be_read_is_flagged_and_the_others_still_answer(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    BackfillJobFactory(status=JobStatus.RUNNING)
    assert sample("backfill_scrape_errors", section="counters") == 1
    assert sample("backfill_scrape_errors", section="jobs") == 0
    assert sample("backfill_jobs", status="running", type="data-collection", priority="normal") == 1
