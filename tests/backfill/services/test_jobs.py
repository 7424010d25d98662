"""The engine's services (jobs, dispatch, units, outcome, actions, recovery): create, start (FIFO),
windowed dispatch, finish, cancel, retry, recover, cleanup and the daily gap fill.

No worker runs here: `broker.send` (the one place that talks to Celery) is replaced by a
recorder, and on-commit callbacks are run with `django_capture_on_commit_callbacks`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_results.models import TaskResult

from backfill.contracts import backfill_request
from backfill.errors import JobStateConflict
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    CreatedVia,
    JobStatus,
    RateLimitConfig,
    UnitStatus,
)
from backfill.services import actions, broker, cleanup, dispatch, gap_fill, jobs, recovery, units
from districts import services as district_services
from snapshots import store
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.backfill import lease_token

# Three dates x two districts, full detail: six units.
REQUEST = {
    "startDate": "2025-03-10",
    "endDate": "2025-03-12",
    "targetDistricts": ["42", "61"],
    "skipExisting": False,
}
# The same shape on other dates: two active jobs never collect one date at once.
OTHER_DATES = {**REQUEST, "startDate": "2025-04-10", "endDate": "2025-04-12"}


@pytest.fixture(autouse=True)
def alive(monkeypatch) -> set[str]:
    """The workers that answer a ping (none unless a test adds some); nothing waits on Celery."""
    hostnames: set[str] = set()
    monkeypatch.setattr(recovery, "alive_workers", lambda: set(hostnames))
    return hostnames


@pytest.fixture
def finalized(monkeypatch) -> list[dict]:
    """Snapshot assemblies requested by the engine (the store itself is tested elsewhere)."""
    calls: list[dict] = []
    monkeypatch.setattr(store, "finalize_snapshot", lambda **kwargs: calls.append(kwargs) or {})
    return calls


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Call a service and run the callbacks it registered for after its commit."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def units_sent(sent) -> list[int]:
    return [args[0] for task, args in sent if task == broker.RUN_UNIT_TASK]


def starts_sent(sent) -> int:
    return sum(1 for task, _ in sent if task == broker.START_JOBS_TASK)


def running(job: BackfillJob) -> list[int]:
    return list(
        job.units.filter(status=UnitStatus.RUNNING).order_by("id").values_list("id", flat=True)
    )


def create_started(run_on_commit, **fields) -> BackfillJob:
    job = jobs.create_job(request=backfill_request({**REQUEST, **fields}))
    run_on_commit(dispatch.start_queued_jobs)
    job.refresh_from_db()
    return job


def finish(run_on_commit, unit_id: int, status: str = UnitStatus.SUCCEEDED, **kwargs) -> bool:
    """End a unit, by default as the holder of its current lease would."""
    kwargs.setdefault("token", lease_token(unit_id))
    return run_on_commit(units.finish_unit, unit_id=unit_id, status=status, **kwargs)


def set_limits(**fields) -> None:
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(**fields)


def assert_counters_match_units(job: BackfillJob) -> None:
    job.refresh_from_db()
    for status, counter in units.COUNTER_FOR.items():
        assert getattr(job, counter) == job.units.filter(status=status).count(), counter
    assert job.total_units == job.units.count()


# create_job


def test_create_job_persists_every_unit_with_its_counters(db, sent):
    job = jobs.create_job(request=backfill_request(REQUEST), created_via=CreatedVia.CLI)
    assert job.status == JobStatus.PENDING
    assert job.collection_strategy == "per-district"
    assert job.total_units == 6
    assert job.units.filter(status=UnitStatus.PENDING).count() == 6
    assert set(job.units.values_list("district_id", flat=True)) == {"42", "61"}
    assert (job.start_date, job.end_date) == (date(2025, 3, 10), date(2025, 3, 12))
    assert job.request["targetDistricts"] == ["42", "61"]
    assert job.request["skipExisting"] is False
    assert job.created_via == CreatedVia.CLI
    # No summary has been collected in this test database: the ids could not be checked.
    assert [w.split(":")[0] for w in job.scope["warnings"]] == ["District ids not checked"]
    assert_counters_match_units(job)


def test_create_job_records_who_created_it(db, sent, django_user_model):
    user = django_user_model.objects.create_user(username="operator")
    job = jobs.create_job(
        request=backfill_request(REQUEST), created_by=user, created_via=CreatedVia.ADMIN
    )
    assert job.created_by == user


def test_create_job_counts_closing_period_units_as_unavailable(db, sent):
    # February 2026 closes on 2026-03-05: the 4th and 5th cannot be collected.
    job = jobs.create_job(
        request=backfill_request(
            {
                **REQUEST,
                "startDate": "2026-03-04",
                "endDate": "2026-03-07",
                "targetDistricts": ["42"],
            }
        )
    )
    assert (job.total_units, job.unavailable_units) == (4, 2)
    unavailable = job.units.filter(status=UnitStatus.UNAVAILABLE)
    assert sorted(u.logical_date.day for u in unavailable) == [4, 5]
    assert all(u.error_type == "data_unavailable" and u.finished_at for u in unavailable)
    assert_counters_match_units(job)


def test_create_job_inserts_units_in_batches(db, sent, monkeypatch):
    monkeypatch.setattr(jobs, "BULK_BATCH", 4)
    job = jobs.create_job(request=backfill_request(REQUEST))
    assert job.units.count() == job.total_units == 6


def test_create_job_asks_for_a_start_once_committed(db, sent, run_on_commit):
    run_on_commit(jobs.create_job, request=backfill_request(REQUEST))
    assert sent == [(broker.START_JOBS_TASK, ())]


def test_create_job_with_no_district_in_scope_is_refused(db, sent):
    district_services.set_configured_districts(district_ids=["7"])
    with pytest.raises(ValidationError, match="No valid districts to process"):
        jobs.create_job(request=backfill_request(REQUEST))
    assert not BackfillJob.objects.exists()


# start_queued_jobs: FIFO under BACKFILL_MAX_ACTIVE_JOBS


def test_queued_jobs_start_oldest_first_one_at_a_time(db, sent, settings):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 1
    first, second, third = (jobs.create_job(request=backfill_request(REQUEST)) for _ in range(3))
    assert dispatch.start_queued_jobs() == [str(first.pk)]
    assert dispatch.start_queued_jobs() == []
    BackfillJob.objects.filter(pk=first.pk).update(status=JobStatus.COMPLETED)
    assert dispatch.start_queued_jobs() == [str(second.pk)]
    third.refresh_from_db()
    assert third.status == JobStatus.PENDING


def test_active_job_limit_lets_several_jobs_run(db, sent, settings):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    first, second, _ = (jobs.create_job(request=backfill_request(REQUEST)) for _ in range(3))
    assert dispatch.start_queued_jobs() == [str(first.pk), str(second.pk)]
    first.refresh_from_db()
    assert first.status == JobStatus.RUNNING
    assert first.started_at and first.heartbeat_at


# windowed dispatch


def test_start_claims_units_up_to_the_job_concurrency_in_date_order(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    claimed = BackfillUnit.objects.filter(pk__in=running(job))
    assert sorted((u.logical_date.day, u.district_id) for u in claimed) == [(10, "42"), (10, "61")]
    assert sorted(units_sent(sent)) == running(job)
    assert all(u.started_at for u in claimed)


def test_global_max_concurrent_caps_units_in_flight_across_jobs(db, sent, settings, run_on_commit):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    set_limits(max_concurrent=4)
    first = jobs.create_job(request=backfill_request({**REQUEST, "concurrency": 3}))
    second = jobs.create_job(request=backfill_request({**OTHER_DATES, "concurrency": 3}))
    run_on_commit(dispatch.start_queued_jobs)
    assert (len(running(first)), len(running(second))) == (3, 1)
    assert len(units_sent(sent)) == 4


def test_dispatch_fills_the_window_when_the_global_limit_rises(db, sent, run_on_commit):
    set_limits(max_concurrent=1)
    job = create_started(run_on_commit, concurrency=3)
    assert len(running(job)) == 1
    set_limits(max_concurrent=3)
    assert run_on_commit(dispatch.dispatch_units) == 2
    assert len(running(job)) == 3
    assert len(units_sent(sent)) == 3


def test_dispatch_of_a_job_that_is_not_running_claims_nothing(db, sent):
    job = jobs.create_job(request=backfill_request(REQUEST))
    assert dispatch.dispatch_units() == 0
    assert running(job) == []


# finish_unit


def test_finishing_a_unit_dispatches_the_next_one(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    first, second = running(job)
    sent.clear()
    assert finish(run_on_commit, first, requests_made=3)
    assert running(job) == [second, *units_sent(sent)]
    assert len(units_sent(sent)) == 1
    unit = BackfillUnit.objects.get(pk=first)
    assert unit.status == UnitStatus.SUCCEEDED
    assert unit.requests_made == 3 and unit.finished_at and unit.duration_ms is not None
    assert_counters_match_units(job)


def test_finishing_a_unit_twice_counts_it_once(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    unit_id = running(job)[0]
    assert finish(run_on_commit, unit_id) is True
    sent.clear()
    assert finish(run_on_commit, unit_id, status=UnitStatus.FAILED) is False
    assert sent == []
    job.refresh_from_db()
    assert (job.succeeded_units, job.failed_units) == (1, 0)
    assert BackfillUnit.objects.get(pk=unit_id).status == UnitStatus.SUCCEEDED


def test_finishing_a_unit_that_never_started_does_nothing(db, sent):
    job = jobs.create_job(request=backfill_request(REQUEST))
    unit_id = job.units.first().pk
    token = lease_token(unit_id)
    assert units.finish_unit(unit_id=unit_id, status=UnitStatus.SUCCEEDED, token=token) is False
    assert job.units.get(pk=unit_id).status == UnitStatus.PENDING


def test_date_snapshot_is_assembled_once_its_last_unit_ends(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2, endDate="2025-03-10")
    first, second = running(job)
    finish(run_on_commit, first)
    assert finalized == []
    finish(run_on_commit, second, status=UnitStatus.FAILED, error_type="fetch_failed")
    (call,) = finalized
    assert call["logical_date"] == date(2025, 3, 10)
    assert call["collection_strategy"] == "per-district"
    assert list(call["district_errors"]) == ["61"]


def test_job_completes_when_its_last_unit_ends(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, endDate="2025-03-10", targetDistricts=["42"])
    sent.clear()
    finish(run_on_commit, running(job)[0])
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.finished_at is not None
    assert job.error_summary["totalErrors"] == 0
    assert starts_sent(sent) == 1  # the next queued job may start


def test_job_with_some_failed_units_ends_partial_with_an_error_summary(
    db, sent, finalized, run_on_commit
):
    job = create_started(run_on_commit, concurrency=2, endDate="2025-03-10")
    ok, bad = running(job)
    finish(run_on_commit, ok)
    finish(
        run_on_commit,
        bad,
        status=UnitStatus.FAILED,
        error_type="fetch_failed",
        message="HTTP 500",
        retryable=True,
    )
    job.refresh_from_db()
    assert job.status == JobStatus.PARTIAL_SUCCESS
    assert job.error_summary == {
        "totalErrors": 1,
        "byType": {"fetch_failed": 1},
        "retryableErrors": 1,
        "permanentErrors": 0,
        "affectedDistricts": ["61"],
        "partialSnapshots": 0,  # the store is not written here (units finished by hand)
    }


def test_job_whose_every_unit_failed_ends_failed(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, endDate="2025-03-10", targetDistricts=["42"])
    finish(run_on_commit, running(job)[0], status=UnitStatus.FAILED, error_type="validation_failed")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_job_with_only_unavailable_units_completes_at_start(db, sent, run_on_commit):
    job = create_started(run_on_commit, startDate="2026-03-02", endDate="2026-03-03")
    assert job.status == JobStatus.COMPLETED
    assert units_sent(sent) == []


# cancel_job


def test_cancelling_a_queued_job_cancels_it_at_once(db, sent, run_on_commit):
    job = jobs.create_job(
        request=backfill_request({**REQUEST, "startDate": "2026-03-05", "endDate": "2026-03-07"})
    )  # the 5th is unavailable: 2 of 6 units
    job = run_on_commit(actions.cancel_job, job=job)
    assert job.status == JobStatus.CANCELLED
    assert (job.cancelled_units, job.unavailable_units) == (4, 2)
    assert job.finished_at is not None
    assert units_sent(sent) == []
    assert_counters_match_units(job)


def test_cancelling_a_running_job_starts_no_more_units(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    in_flight = running(job)
    sent.clear()
    job = run_on_commit(actions.cancel_job, job=job)
    assert job.status == JobStatus.CANCELLING
    assert job.cancelled_units == 4
    assert running(job) == in_flight  # in-flight units stop on their own, cooperatively
    for unit_id in in_flight:
        assert finish(run_on_commit, unit_id)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert units_sent(sent) == []
    assert_counters_match_units(job)


def test_cancelling_a_finished_job_is_refused(db, sent):
    job = BackfillJobFactory(status=JobStatus.COMPLETED)
    with pytest.raises(JobStateConflict) as caught:
        actions.cancel_job(job=job)
    assert "already completed" in caught.value.message
    assert (caught.value.action, caught.value.status) == ("cancel", JobStatus.COMPLETED)


# retry_failed


def test_retry_requeues_only_the_failed_units(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2, endDate="2025-03-10")
    ok, bad = running(job)
    finish(run_on_commit, ok)
    finish(run_on_commit, bad, status=UnitStatus.FAILED, error_type="fetch_failed", retryable=True)
    sent.clear()
    assert run_on_commit(actions.retry_failed, job=job) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert (job.succeeded_units, job.failed_units) == (1, 0)
    assert job.error_summary == {}
    assert job.units.get(pk=ok).status == UnitStatus.SUCCEEDED
    again = job.units.get(pk=bad)
    assert (again.status, again.error_type, again.attempts) == (UnitStatus.PENDING, "", 0)
    assert starts_sent(sent) == 1
    assert_counters_match_units(job)


def test_retried_units_run_and_upgrade_the_job(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2, endDate="2025-03-10")
    ok, bad = running(job)
    finish(run_on_commit, ok)
    finish(run_on_commit, bad, status=UnitStatus.FAILED, error_type="fetch_failed")
    actions.retry_failed(job=job)
    run_on_commit(dispatch.start_queued_jobs)
    assert running(job) == [bad]
    finish(run_on_commit, bad)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


def test_retry_of_an_active_job_is_refused(db, sent, run_on_commit):
    job = create_started(run_on_commit)
    with pytest.raises(JobStateConflict) as caught:
        actions.retry_failed(job=job)
    assert (caught.value.action, caught.value.status) == ("retry", JobStatus.RUNNING)


def test_retry_of_a_job_without_failed_units_is_refused(db, sent):
    job = BackfillJobFactory(status=JobStatus.COMPLETED, total_units=1, succeeded_units=1)
    BackfillUnitFactory(job=job, status=UnitStatus.SUCCEEDED)
    with pytest.raises(JobStateConflict, match="no failed units"):
        actions.retry_failed(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


# recover_jobs


def test_recovery_resumes_the_running_units_of_a_stale_job_only(db, sent, settings, run_on_commit):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    set_limits(max_concurrent=10)
    stale = jobs.create_job(request=backfill_request({**REQUEST, "concurrency": 2}))
    fresh = jobs.create_job(request=backfill_request({**OTHER_DATES, "concurrency": 2}))
    run_on_commit(dispatch.start_queued_jobs)
    long_ago = timezone.now() - timedelta(hours=1)
    BackfillJob.objects.filter(pk=stale.pk).update(heartbeat_at=long_ago)
    BackfillUnit.objects.filter(status=UnitStatus.RUNNING).update(started_at=long_ago)
    stale_units, fresh_units = running(stale), running(fresh)
    sent.clear()

    assert run_on_commit(recovery.recover_jobs) == [str(stale.pk)]

    stale.refresh_from_db()
    assert stale.status == JobStatus.RUNNING
    assert stale.recovery_count == 1
    assert stale.heartbeat_at > long_ago
    assert sorted(units_sent(sent)) == stale_units  # dispatched again
    assert all(u.started_at > long_ago for u in stale.units.filter(pk__in=stale_units))
    fresh.refresh_from_db()
    assert fresh.recovery_count == 0
    assert all(u.started_at == long_ago for u in fresh.units.filter(pk__in=fresh_units))
    assert_counters_match_units(stale)


def test_recovery_honours_the_stale_after_threshold(db, sent, run_on_commit):
    job = create_started(run_on_commit)
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=two_minutes_ago)
    job.units.filter(status=UnitStatus.RUNNING).update(started_at=two_minutes_ago)
    assert recovery.recover_jobs(stale_after=timedelta(minutes=10)) == []
    assert recovery.recover_jobs(stale_after=timedelta(minutes=1)) == [str(job.pk)]


def test_recovery_with_a_zero_threshold_resumes_every_active_job(db, sent, run_on_commit):
    job = create_started(run_on_commit)
    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=1))
    assert recovery.recover_jobs(stale_after=timedelta(0)) == [str(job.pk)]


def test_recovery_finishes_a_stale_cancelling_job(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    actions.cancel_job(job=job)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=an_hour_ago)
    job.units.filter(status=UnitStatus.RUNNING).update(started_at=an_hour_ago)
    assert recovery.recover_jobs() == [str(job.pk)]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.cancelled_units == 6
    assert_counters_match_units(job)


def test_recovery_starts_a_queued_job_when_there_is_room(db, sent, settings):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 1
    job = jobs.create_job(request=backfill_request(REQUEST))
    assert recovery.recover_jobs() == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


# cleanup_jobs


def test_cleanup_deletes_old_finished_jobs_and_task_results_only(db):
    now = timezone.now()
    old = BackfillJobFactory(status=JobStatus.COMPLETED, finished_at=now - timedelta(days=40))
    BackfillUnitFactory.create_batch(2, job=old, status=UnitStatus.SUCCEEDED)
    old_cancelled = BackfillJobFactory(
        status=JobStatus.CANCELLED, finished_at=now - timedelta(days=31)
    )
    recent = BackfillJobFactory(status=JobStatus.COMPLETED, finished_at=now - timedelta(days=1))
    old_running = BackfillJobFactory(status=JobStatus.RUNNING, started_at=now - timedelta(days=40))
    BackfillUnitFactory(job=old_running, status=UnitStatus.RUNNING)
    TaskResult.objects.create(task_id="old")
    TaskResult.objects.create(task_id="new")
    TaskResult.objects.filter(task_id="old").update(date_done=now - timedelta(days=40))

    deleted = cleanup.cleanup_jobs(older_than=timedelta(days=30))

    assert deleted == {"jobs": 2, "units": 2, "taskResults": 1, "idempotencyKeys": 0}
    left = set(BackfillJob.objects.values_list("pk", flat=True))
    assert left == {recent.pk, old_running.pk}
    assert old_cancelled.pk not in left
    assert BackfillUnit.objects.filter(job=old_running).exists()
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["new"]


def test_cleanup_with_a_zero_age_deletes_every_finished_job(db, settings):
    settings.BACKFILL_JOB_RETENTION_DAYS = 30
    BackfillJobFactory(status=JobStatus.COMPLETED, finished_at=timezone.now() - timedelta(hours=1))
    assert cleanup.cleanup_jobs(older_than=timedelta(0))["jobs"] == 1


def test_cleanup_defaults_to_the_retention_setting(db, settings):
    settings.BACKFILL_JOB_RETENTION_DAYS = 5
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now() - timedelta(days=6))
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now() - timedelta(days=4))
    assert cleanup.cleanup_jobs()["jobs"] == 1
    assert BackfillJob.objects.count() == 1


# fill_gap


def test_gap_fill_creates_a_job_for_yesterday(db, sent, snapshot_root):
    district_services.set_configured_districts(district_ids=["42", "61"])
    job = gap_fill.fill_gap()
    yesterday = timezone.localdate() - timedelta(days=1)
    assert (job.start_date, job.end_date) == (yesterday, yesterday)
    assert job.created_via == CreatedVia.BEAT
    assert job.collection_strategy == "system-wide"
    assert job.scope["configuredDistricts"] == ["42", "61"]
    assert job.skip_existing is True
    assert job.total_units == 1


def test_gap_fill_of_an_invalid_date_creates_nothing(db, sent):
    assert gap_fill.fill_gap(days_back=-1) is None  # tomorrow is in the future
    assert not BackfillJob.objects.exists()


# waiting month ends


@pytest.fixture
def today_is(monkeypatch):
    def set_today(day: date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)

    return set_today


def test_waiting_month_ends_are_counted_and_the_job_completes(db, sent, run_on_commit, today_is):
    today_is(date(2026, 11, 20))  # 2026-10 is unknown to the registry and ended recently

    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2026-10-30", "endDate": "2026-10-31", "targetDistricts": ["42"]}
        )
    )

    assert (job.total_units, job.waiting_units) == (2, 1)
    waiting = job.units.get(logical_date=date(2026, 10, 31))
    assert waiting.status == UnitStatus.WAITING
    assert "2026-10 is still closing" in waiting.error_message
    assert waiting.error_type == ""
    run_on_commit(dispatch.start_queued_jobs)
    (unit_id,) = units_sent(sent)
    finish(run_on_commit, unit_id)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert_counters_match_units(job)


def test_a_job_of_only_waiting_units_completes_at_start(db, sent, run_on_commit, today_is):
    today_is(date(2026, 11, 20))

    job = jobs.create_job(request=backfill_request({"startDate": "2026-10-31"}))
    run_on_commit(dispatch.start_queued_jobs)

    job.refresh_from_db()
    assert (job.status, job.waiting_units, units_sent(sent)) == (JobStatus.COMPLETED, 1, [])


def test_gap_fill_queues_a_waiting_month_end_once_its_closing_date_is_known(
    db, sent, snapshot_root, today_is
):
    from districts.dashboard import closing
    from districts.models import MonthEndClosing

    today_is(date(2026, 11, 30))
    assert [(j.start_date, j.end_date) for j in [gap_fill.fill_gap()]] == [
        (date(2026, 11, 29), date(2026, 11, 29))
    ]
    assert BackfillJob.objects.count() == 1  # 2026-10's closing date is not known yet

    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), closing_date=date(2026, 11, 18), source="discovered"
    )
    closing.clear_cache()
    yesterday = gap_fill.fill_gap()

    month_end_job = BackfillJob.objects.exclude(pk=yesterday.pk).latest("created_at")
    assert (month_end_job.start_date, month_end_job.end_date) == (
        date(2026, 10, 31),
        date(2026, 10, 31),
    )
    assert month_end_job.created_via == CreatedVia.BEAT
    assert month_end_job.units.get().status == UnitStatus.PENDING


def test_gap_fill_does_not_queue_a_month_end_already_stored(db, sent, snapshot_root, today_is):
    from districts.dashboard import closing
    from districts.models import MonthEndClosing
    from tests.snapshots.factories import DistrictStatisticsFactory

    today_is(date(2026, 11, 30))
    district_services.set_configured_districts(district_ids=["42"])
    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), closing_date=date(2026, 11, 18), source="discovered"
    )
    closing.clear_cache()
    day = date(2026, 10, 31)
    store.write_district(
        logical_date=day,
        statistics=DistrictStatisticsFactory(district_id="42", logical_date=day, detail="full"),
    )
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="system-wide",
        scope=["42"],
        job_id=None,
        district_errors={},
    )

    gap_fill.fill_gap()

    assert list(BackfillJob.objects.values_list("start_date", flat=True)) == [date(2026, 11, 29)]


def test_gap_fill_does_not_queue_a_month_end_twice_while_its_job_is_queued(
    db, sent, snapshot_root, today_is
):
    from districts.dashboard import closing
    from districts.models import MonthEndClosing

    today_is(date(2026, 11, 30))
    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), closing_date=date(2026, 11, 18), source="discovered"
    )
    closing.clear_cache()

    gap_fill.fill_gap()
    gap_fill.fill_gap()

    month_end_jobs = BackfillJob.objects.filter(start_date=date(2026, 10, 31))
    assert month_end_jobs.count() == 1


def test_gap_fill_tries_a_month_end_once_a_day_until_it_is_stored(
    db, sent, snapshot_root, today_is
):
    from districts.dashboard import closing
    from districts.models import MonthEndClosing

    today_is(date(2026, 11, 30))
    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), closing_date=date(2026, 11, 18), source="discovered"
    )
    closing.clear_cache()
    gap_fill.fill_gap()
    month_end = BackfillJob.objects.filter(start_date=date(2026, 10, 31))
    month_end.update(status=JobStatus.FAILED)  # it ended without storing the month end

    gap_fill.fill_gap()  # beat again the same day
    assert month_end.count() == 1
    today_is(date(2026, 12, 1))
    gap_fill.fill_gap()

    assert month_end.count() == 2
    assert BackfillJob.objects.filter(start_date=date(2026, 11, 29)).count() == 1
