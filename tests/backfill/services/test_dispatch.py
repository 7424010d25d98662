"""Priorities (backfill/services/dispatch.py, "Priorities"): which job starts, which job's units
take the free slots, dates never collected by two jobs at once, and how the queue explains itself.

The engine's services against the real PostgreSQL; the broker is replaced by the `sent`
recorder (`broker.send`), so dispatch decisions can be read one by one.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    CreatedVia,
    JobPriority,
    JobStatus,
    RateLimitConfig,
    RunKind,
    UnitStatus,
)
from backfill.selectors import waiting
from backfill.services import dispatch, gap_fill, jobs, recovery, units
from districts import services as district_services
from tests.fixtures.backfill import lease_token

pytestmark = pytest.mark.django_db

# Mid-month dates (no closing period). A long backfill: ten dates x two districts (20 units);
# the daily refresh: one date.
LONG = {
    "startDate": "2025-03-11",
    "endDate": "2025-03-20",
    "targetDistricts": ["42", "61"],
    "skipExisting": False,
    "concurrency": 3,
}


@pytest.fixture(autouse=True)
def _engine(monkeypatch, snapshot_root, settings):
    monkeypatch.setattr(recovery, "alive_workers", lambda: set())
    settings.BACKFILL_MAX_ACTIVE_JOBS = 1
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(max_concurrent=3)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def create(request: dict, *, priority: str = "normal", daily: bool = False) -> BackfillJob:
    """A job as an entry point creates it; `daily`: as beat's gap fill does (daily priority,
    daily-refresh run kind)."""
    typed = backfill_request({**request, "priority": priority})
    if daily:
        return jobs.create_job(
            request=dataclasses.replace(typed, priority=JobPriority.DAILY.label),
            created_via=CreatedVia.BEAT,
            run_kind=RunKind.DAILY_REFRESH,
        )
    return jobs.create_job(request=typed)


def daily_request(day: str) -> dict:
    return {"startDate": day, "targetDistricts": ["42", "61"], "skipExisting": False}


def running(job: BackfillJob) -> list[BackfillUnit]:
    return list(job.units.filter(status=UnitStatus.RUNNING).order_by("logical_date", "id"))


def succeed(run_on_commit, unit_id: int) -> bool:
    """End a unit succeeded, as the holder of its lease would."""
    token = lease_token(unit_id)
    return run_on_commit(
        units.finish_unit, unit_id=unit_id, status=UnitStatus.SUCCEEDED, token=token
    )


def finish_all_running(run_on_commit, job: BackfillJob) -> None:
    for unit in running(job):
        succeed(run_on_commit, unit.pk)


def refreshed(job: BackfillJob) -> BackfillJob:
    job.refresh_from_db()
    return job


# -- the job says which kind of run it is -----------------------------------------------------


def test_beats_gap_fill_is_a_daily_refresh_with_the_daily_priority(sent):
    district_services.set_configured_districts(district_ids=["42", "61"])
    job = gap_fill.fill_gap()
    assert job.run_kind == RunKind.DAILY_REFRESH
    assert job.priority == JobPriority.DAILY and job.priority_label == "daily"
    assert job.request["priority"] == "daily"


def test_entry_points_make_backfills_normal_unless_marked_urgent(sent):
    assert create(LONG).priority == JobPriority.NORMAL
    urgent = create(LONG, priority="urgent")
    assert urgent.priority == JobPriority.URGENT and urgent.run_kind == RunKind.BACKFILL
    assert create(LONG, priority="low").priority == JobPriority.LOW


# -- which job starts -------------------------------------------------------------------------


def test_a_daily_job_starts_beside_a_running_backfill(sent, run_on_commit):
    long = create(LONG)
    run_on_commit(dispatch.start_queued_jobs)
    daily = create(daily_request("2025-04-14"), daily=True)
    assert run_on_commit(dispatch.start_queued_jobs) == [str(daily.pk)]
    assert refreshed(long).status == JobStatus.RUNNING
    assert refreshed(daily).status == JobStatus.RUNNING


def test_a_normal_job_waits_while_a_higher_priority_job_runs(sent, run_on_commit):
    daily = create(daily_request("2025-04-14"), daily=True)
    run_on_commit(dispatch.start_queued_jobs)
    normal = create(LONG)
    assert run_on_commit(dispatch.start_queued_jobs) == []
    assert refreshed(normal).status == JobStatus.PENDING
    assert waiting.why_not_running(job=normal).startswith(
        f"Queued behind daily job {daily.pk} (position 1 in the queue)"
    )


def test_queued_jobs_start_by_priority_and_oldest_first_within_one(sent, run_on_commit):
    blocker = create(LONG, priority="urgent")
    run_on_commit(dispatch.start_queued_jobs)
    older_normal = create(LONG)
    low = create(LONG, priority="low")
    newer_normal = create(LONG)
    urgent = create({**LONG, "startDate": "2025-05-12", "endDate": "2025-05-13"}, priority="urgent")
    assert waiting.queue_state(job=refreshed(urgent)).position == 1
    assert waiting.queue_state(job=refreshed(older_normal)).position == 2
    assert waiting.queue_state(job=refreshed(newer_normal)).position == 3
    assert waiting.queue_state(job=refreshed(low)).position == 4

    order = []
    for job in (blocker, urgent, older_normal, newer_normal, low):
        BackfillJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
        order += run_on_commit(dispatch.start_queued_jobs)
    assert order == [str(j.pk) for j in (urgent, older_normal, newer_normal, low)]


# -- which units take the slots ---------------------------------------------------------------


def test_a_priority_job_takes_free_slots_first_and_the_backfill_continues_after(
    sent, run_on_commit
):
    long = create(LONG)
    run_on_commit(dispatch.start_queued_jobs)
    held = [u.pk for u in running(long)]
    assert len(held) == 3  # every slot

    # Three dates x two districts, on dates the backfill does not cover.
    daily = create({**daily_request("2025-04-14"), "endDate": "2025-04-16"}, daily=True)
    run_on_commit(dispatch.start_queued_jobs)
    # It starts at once: one unit beyond the slots the backfill holds.
    assert (len(running(daily)), len(running(long))) == (1, 3)

    # Each slot the backfill leaves goes to the daily job while it has units to run (the unit
    # beyond the slots counts first).
    counts = []
    for unit_id in held:
        succeed(run_on_commit, unit_id)
        counts.append((len(running(daily)), len(running(long))))
    assert counts == [(1, 2), (2, 1), (3, 0)]
    assert waiting.why_not_running(job=refreshed(long)).startswith(
        f"Queued behind daily job {daily.pk}: jobs of a higher priority take free slots first"
    )

    while running(daily):
        finish_all_running(run_on_commit, daily)
        assert running(long) == [] or not refreshed(daily).units.filter(status="pending")
    assert refreshed(daily).status == JobStatus.COMPLETED
    # The backfill continues where it was: its next units, every slot again.
    resumed = running(long)
    assert len(resumed) == 3
    assert min(u.logical_date for u in resumed) == date(2025, 3, 12)
    assert refreshed(long).succeeded_units == 3
    assert waiting.why_not_running(job=refreshed(long)) is None


# -- two jobs never collect one date at once ----------------------------------------------------


def test_a_backfill_defers_the_dates_a_daily_job_has_pending(sent, run_on_commit, settings):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    RateLimitConfig.objects.update(max_concurrent=1)
    daily = create(daily_request("2025-03-11"), daily=True)
    run_on_commit(dispatch.start_queued_jobs)
    long = create(LONG, priority="low")
    run_on_commit(dispatch.start_queued_jobs)
    assert refreshed(long).status == JobStatus.RUNNING
    RateLimitConfig.objects.update(max_concurrent=4)
    run_on_commit(dispatch.dispatch_units)
    # The daily job's date is not the backfill's to collect while the daily job has it pending.
    assert {u.logical_date for u in running(daily)} == {date(2025, 3, 11)}
    assert {u.logical_date for u in running(long)} == {date(2025, 3, 12)}

    finish_all_running(run_on_commit, daily)
    assert refreshed(daily).status == JobStatus.COMPLETED
    assert len(running(long)) == 3  # its own concurrency
    succeed(run_on_commit, running(long)[0].pk)
    # Now the backfill collects 2025-03-11 too: after the daily job, never beside it.
    assert date(2025, 3, 11) in {u.logical_date for u in running(long)}


def test_a_daily_job_waits_for_the_backfill_units_running_on_its_date(sent, run_on_commit):
    long = create(LONG)
    run_on_commit(dispatch.start_queued_jobs)
    on_first_date = [u for u in running(long) if u.logical_date == date(2025, 3, 11)]
    assert len(on_first_date) == 2

    daily = create(daily_request("2025-03-11"), daily=True)
    run_on_commit(dispatch.start_queued_jobs)
    assert running(daily) == []  # its date is being collected by the backfill
    assert refreshed(daily).status == JobStatus.RUNNING

    succeed(run_on_commit, on_first_date[0].pk)
    assert running(daily) == []  # one backfill unit of the date still runs
    succeed(run_on_commit, on_first_date[1].pk)
    assert {u.logical_date for u in running(daily)} == {date(2025, 3, 11)}
    assert all(u.logical_date != date(2025, 3, 11) for u in running(long))


def test_no_date_has_units_of_two_jobs_running_at_once_through_a_whole_run(sent, run_on_commit):
    RateLimitConfig.objects.update(max_concurrent=4)
    long = create(LONG)
    run_on_commit(dispatch.start_queued_jobs)
    dailies = [create(daily_request(f"2025-03-1{d}"), daily=True) for d in (1, 2, 3)]
    run_on_commit(dispatch.start_queued_jobs)
    for _ in range(200):
        in_flight = list(BackfillUnit.objects.filter(status=UnitStatus.RUNNING).order_by("id"))
        if not in_flight:
            break
        by_date: dict[date, set] = {}
        for unit in in_flight:
            by_date.setdefault(unit.logical_date, set()).add(unit.job_id)
        assert all(len(owners) == 1 for owners in by_date.values()), by_date
        succeed(run_on_commit, in_flight[0].pk)
        run_on_commit(dispatch.start_queued_jobs)
    assert all(refreshed(j).status == JobStatus.COMPLETED for j in [long, *dailies])


# -- the request contract and the API ---------------------------------------------------------


def test_the_contract_takes_urgent_normal_and_low_but_not_daily(sent):
    from rest_framework.exceptions import ValidationError

    assert backfill_request({**LONG, "priority": "urgent"}).priority == "urgent"
    assert backfill_request(LONG).priority == "normal"
    with pytest.raises(ValidationError) as raised:
        backfill_request({**LONG, "priority": "daily"})
    assert set(raised.value.detail) == {"priority"}


def test_the_api_shows_priority_and_run_kind(staff_client, sent):
    created = staff_client.post(
        "/api/admin/backfill", {**LONG, "priority": "urgent"}, content_type="application/json"
    )
    assert created.status_code == 202, created.json()
    body = created.json()
    assert (body["priority"], body["runKind"]) == ("urgent", "backfill")
    district_services.set_configured_districts(district_ids=["42"])
    daily = gap_fill.fill_gap()
    listed = staff_client.get("/api/admin/backfill/jobs?limit=5").json()
    row = next(j for j in listed["jobs"] if j["jobId"] == str(daily.pk))
    assert (row["priority"], row["runKind"]) == ("daily", "daily-refresh")


def test_the_admin_job_page_shows_the_run_kind_and_priority(admin_client, sent):
    district_services.set_configured_districts(district_ids=["42"])
    daily = gap_fill.fill_gap()
    page = admin_client.get(f"/admin/backfill/backfilljob/{daily.pk}/change/")
    assert page.status_code == 200
    assert "daily-refresh &middot; daily priority" in page.content.decode()
    assert 'id="bf-delay"' in page.content.decode()


def test_fill_gap_of_an_old_day_is_still_daily(sent):
    district_services.set_configured_districts(district_ids=["42"])
    job = gap_fill.fill_gap(days_back=3)
    assert job.start_date == timezone.localdate() - timedelta(days=3)
    assert job.priority_label == "daily"
