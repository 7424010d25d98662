"""backfill/selectors/: job progress, why a job waits, the limits' state and the job list."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from backfill.limits import circuit_breaker, get_redis, rate_limiter
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    JobStatus,
    JobType,
    RateLimitConfig,
    UnitCount,
    UnitStatus,
)
from backfill.selectors import performance, waiting
from backfill.selectors.history import job_history
from backfill.selectors.jobs import DistrictProgress, job_progress
from tests.factories import BackfillJobFactory, BackfillUnitFactory


def job_with_units(statuses_by_district: dict[str, list[str]], **job_fields):
    """A job whose counters match the units it is given (as the services keep them)."""
    counters = {
        UnitStatus.SUCCEEDED: "succeeded_units",
        UnitStatus.SKIPPED: "skipped_units",
        UnitStatus.UNAVAILABLE: "unavailable_units",
        UnitStatus.FAILED: "failed_units",
        UnitStatus.CANCELLED: "cancelled_units",
    }
    all_statuses = [s for statuses in statuses_by_district.values() for s in statuses]
    fields = {name: all_statuses.count(status) for status, name in counters.items()}
    job = BackfillJobFactory(total_units=len(all_statuses), **fields, **job_fields)
    for district_id, statuses in statuses_by_district.items():
        for offset, status in enumerate(statuses):
            BackfillUnitFactory(
                job=job,
                district_id=district_id,
                logical_date=job.start_date + timedelta(days=offset),
                status=status,
            )
    return job


def test_progress_counts_every_unit_state(db):
    job = job_with_units(
        {
            "42": [UnitStatus.SUCCEEDED, UnitStatus.FAILED, UnitStatus.RUNNING],
            "61": [UnitStatus.SKIPPED, UnitStatus.UNAVAILABLE, UnitStatus.PENDING],
            "F": [UnitStatus.CANCELLED, UnitStatus.PENDING],
        },
        status=JobStatus.RUNNING,
    )
    progress = job_progress(job=job)
    assert progress.total == 8
    assert (progress.succeeded, progress.failed, progress.skipped) == (1, 1, 1)
    assert (progress.unavailable, progress.cancelled) == (1, 1)
    assert (progress.running, progress.pending) == (1, 2)


def test_progress_breaks_counts_down_per_district(db):
    job = job_with_units(
        {
            "61": [UnitStatus.SKIPPED, UnitStatus.PENDING],
            "42": [UnitStatus.SUCCEEDED, UnitStatus.FAILED, UnitStatus.RUNNING],
        }
    )
    by_district = {d.district_id: d for d in job_progress(job=job).districts}
    assert by_district["42"] == DistrictProgress(
        district_id="42",
        total=3,
        succeeded=1,
        skipped=0,
        unavailable=0,
        failed=1,
        cancelled=0,
        pending=0,
        running=1,
    )
    assert (by_district["61"].total, by_district["61"].skipped) == (2, 1)
    assert by_district["61"].pending == 1


def test_summary_units_are_reported_as_all_districts(db):
    job = job_with_units({"*": [UnitStatus.SUCCEEDED, UnitStatus.PENDING]})
    (row,) = job_progress(job=job).districts
    assert (row.district_id, row.total, row.succeeded) == ("*", 2, 1)


def test_progress_without_the_breakdown_skips_it(db):
    job = job_with_units({"42": [UnitStatus.SUCCEEDED]})
    assert job_progress(job=job, per_district=False).districts == ()


def test_percent_counts_finished_units_of_any_outcome(db):
    job = job_with_units(
        {"42": [UnitStatus.SUCCEEDED, UnitStatus.FAILED, UnitStatus.SKIPPED, UnitStatus.PENDING]}
    )
    assert job_progress(job=job).percent == 75.0


def test_percent_of_a_job_without_units_is_complete(db):
    assert job_progress(job=BackfillJobFactory(total_units=0)).percent == 100.0


def test_eta_is_unknown_before_the_job_starts(db):
    job = job_with_units({"42": [UnitStatus.SUCCEEDED, UnitStatus.PENDING]}, started_at=None)
    assert job_progress(job=job).eta_seconds is None


def test_eta_is_unknown_before_any_unit_ran(db):
    job = job_with_units(
        {"42": [UnitStatus.SKIPPED, UnitStatus.PENDING]},
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=30),
    )
    assert job_progress(job=job).eta_seconds is None


def test_eta_extrapolates_the_pace_of_units_that_ran(db):
    job = job_with_units(
        {"42": [UnitStatus.SUCCEEDED, UnitStatus.FAILED, UnitStatus.PENDING, UnitStatus.PENDING]},
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=100),
    )
    # Two units in 100 s, two left: about 100 s more.
    assert job_progress(job=job).eta_seconds == pytest.approx(100, abs=2)


def test_eta_ignores_units_planned_unavailable_without_a_request(db):
    # Closing-period units end at planning time (never started): they say nothing of the pace.
    job = job_with_units(
        {"42": [UnitStatus.SUCCEEDED, UnitStatus.PENDING]},
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=100),
    )
    for offset in (5, 6):
        BackfillUnitFactory(
            job=job,
            district_id="42",
            logical_date=job.start_date + timedelta(days=offset),
            status=UnitStatus.UNAVAILABLE,
            started_at=None,
        )
    BackfillJob.objects.filter(pk=job.pk).update(total_units=4, unavailable_units=2)
    job.refresh_from_db()
    # One unit ran in 100 s and one is left: about 100 s more, not 33 s.
    assert job_progress(job=job).eta_seconds == pytest.approx(100, abs=2)


def test_eta_of_a_finished_job_is_none(db):
    job = job_with_units(
        {"42": [UnitStatus.SUCCEEDED, UnitStatus.CANCELLED]},
        status=JobStatus.CANCELLED,
        started_at=timezone.now() - timedelta(seconds=10),
    )
    assert job_progress(job=job).eta_seconds is None


def test_progress_as_dict_is_plain_data(db):
    job = job_with_units({"42": [UnitStatus.SUCCEEDED]})
    data = job_progress(job=job).as_dict()
    assert data["total"] == 1
    assert data["districts"][0]["district_id"] == "42"


def jobs_created_in_order(count: int, **fields) -> list:
    """Jobs created one minute apart, oldest first."""
    made = [BackfillJobFactory(**fields) for _ in range(count)]
    start = timezone.now() - timedelta(hours=1)
    for minutes, job in enumerate(made):
        BackfillJob.objects.filter(pk=job.pk).update(created_at=start + timedelta(minutes=minutes))
    return made


def ids(page: tuple[list, int]) -> list[str]:
    return [summary.job_id for summary in page[0]]


def test_jobs_are_listed_newest_first(db):
    older, newer = jobs_created_in_order(2)
    assert ids(job_history()) == [str(newer.pk), str(older.pk)]


def test_jobs_can_be_filtered_by_status(db):
    BackfillJobFactory(status=JobStatus.COMPLETED)
    failed = BackfillJobFactory(status=JobStatus.FAILED)
    assert job_history(status=JobStatus.FAILED)[1] == 1
    assert ids(job_history(status=JobStatus.FAILED)) == [str(failed.pk)]


def test_job_list_pages_with_limit_and_offset(db):
    made = jobs_created_in_order(5)
    newest_first = [str(job.pk) for job in made[::-1]]
    assert ids(job_history(limit=2)) == newest_first[:2]
    assert ids(job_history(limit=2, offset=2)) == newest_first[2:4]
    assert job_history(limit=2)[1] == 5


def test_a_listed_job_counts_waiting_units_as_finished(db):
    BackfillJobFactory(total_units=4, succeeded_units=2, waiting_units=2)
    assert job_history()[0][0].percent == 100.0


def test_dashboard_performance_counts_units_of_active_jobs_only(db):
    active = BackfillJobFactory(status=JobStatus.RUNNING, total_units=3)  # counters as kept
    BackfillUnitFactory(job=active, status=UnitStatus.RUNNING, district_id="1")
    BackfillUnitFactory(job=active, status=UnitStatus.PENDING, district_id="2")
    BackfillUnitFactory(job=active, status=UnitStatus.PENDING, district_id="3")
    finished = BackfillJobFactory(status=JobStatus.COMPLETED)
    BackfillUnitFactory(job=finished, status=UnitStatus.PENDING, district_id="4")

    status = performance.dashboard_performance()

    assert status["concurrency"]["active"] == 1
    assert status["concurrency"]["queued"] == 2
    assert status["rateLimiter"]["maxRequests"] == RateLimitConfig.load().max_requests


# why_not_running: one sentence from the engine's real state


@pytest.fixture
def private_limits(settings):
    """Limiter and breaker keys of this test only, cleared afterwards."""
    prefix = f"test-why-{uuid.uuid4().hex[:10]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = prefix
    client = get_redis()  # taken now: a test may point settings.REDIS_URL elsewhere
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def running_job(**fields) -> BackfillJob:
    now = timezone.now()
    fields = {"status": JobStatus.RUNNING, "started_at": now, "heartbeat_at": now, **fields}
    return job_with_units({"42": [UnitStatus.RUNNING, UnitStatus.PENDING]}, **fields)


def test_a_queued_job_names_the_job_it_waits_behind_and_its_position(db, private_limits):
    first = running_job()
    BackfillJobFactory(status=JobStatus.PENDING)
    later = BackfillJobFactory(status=JobStatus.PENDING)
    sentence = waiting.why_not_running(job=later)
    assert sentence.startswith(f"Queued behind normal job {first.pk} (position 2 in the queue)")


def test_a_queued_job_with_nothing_running_asks_whether_workers_run(db, private_limits):
    job = BackfillJobFactory(status=JobStatus.PENDING)
    assert "are workers running?" in waiting.why_not_running(job=job)


def test_a_silent_job_says_no_worker_has_reported(db, private_limits):
    job = running_job(heartbeat_at=timezone.now() - timedelta(minutes=7))
    assert waiting.why_not_running(job=job).startswith(
        "No worker has reported on this job for 7 min: are workers running?"
    )


def test_an_open_breaker_says_when_the_probe_may_leave(db, private_limits):
    breaker = circuit_breaker()
    for _ in range(RateLimitConfig.load().max_requests + 10):
        breaker.record_failure()
    sentence = waiting.why_not_running(job=running_job())
    assert sentence.startswith("The circuit breaker is open after")
    assert "the next probe request may leave in" in sentence


def test_a_429_cooldown_says_how_long_every_worker_waits(db, private_limits):
    rate_limiter().report_rate_limited(45)
    sentence = waiting.why_not_running(job=running_job())
    assert sentence.startswith("The dashboard asked us to slow down (429): every worker waits")


def test_unreachable_redis_is_named(db, private_limits, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert waiting.why_not_running(job=running_job()).startswith("Redis is unreachable")


def test_a_progressing_or_finished_job_needs_no_explanation(db, private_limits):
    assert waiting.why_not_running(job=running_job()) is None
    assert waiting.why_not_running(job=BackfillJobFactory(status=JobStatus.COMPLETED)) is None


def unit_counts(job) -> dict[tuple[str, str], int]:
    return {
        (district_id, status): n
        for district_id, status, n in UnitCount.objects.filter(job=job)
        .exclude(count=0)
        .values_list("district_id", "status", "count")
    }


def grouped_units(job) -> dict[tuple[str, str], int]:
    return {
        (district_id, status): n
        for district_id, status, n in BackfillUnit.objects.filter(job=job)
        .values_list("district_id", "status")
        .annotate(n=Count("*"))
        .order_by()
    }


def test_trigger_kept_unit_counts_follow_every_kind_of_write(db):
    """COPY (create_job), bulk updates, single updates, attempts-only updates and deletes all
    leave UnitCount equal to the units, so the per-district progress never scans them."""
    from backfill.contracts import backfill_request
    from backfill.services import jobs

    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-01", "endDate": "2025-03-12", "targetDistricts": ["42", "61"]}
        )
    )
    assert unit_counts(job) == grouped_units(job) and sum(unit_counts(job).values()) == 24
    job.units.filter(district_id="42", status=UnitStatus.PENDING).update(status=UnitStatus.RUNNING)
    unit = job.units.filter(status=UnitStatus.RUNNING).first()
    unit.status = UnitStatus.FAILED
    unit.save()
    job.units.update(attempts=2)  # changes no count
    job.units.filter(district_id="61").delete()
    assert unit_counts(job) == grouped_units(job)
    progress = {d.district_id: d for d in job_progress(job=job).districts}
    assert set(progress) == {"42"} and progress["42"].failed == 1
    job.delete()
    assert not UnitCount.objects.filter(job_id=job.pk).exists()


def test_an_open_breaker_does_not_hold_a_job_that_sends_no_request(db, private_limits):
    breaker = circuit_breaker()
    for _ in range(RateLimitConfig.load().max_requests + 10):
        breaker.record_failure()
    rate_limiter().report_rate_limited(45)
    publish = running_job(job_type=JobType.PUBLISH, request={"destination": "file:///srv/cdn"})
    assert waiting.why_not_running(job=publish) is None
    assert waiting.why_not_running(job=running_job()).startswith("The circuit breaker is open")
