"""services/collecting.py and closing_dates.py, in this process: month-end units of months whose
closing date is unknown probe the simulator (over real HTTP, through the global limiter) before they
collect, and wait while the month is still closing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import BackfillUnit, JobStatus, UnitStatus
from backfill.services import dispatch, execution, jobs
from backfill.services.planning import month_ends
from districts.dashboard.closing import closing_date_for
from districts.models import MonthEndClosing
from simulator.periods import next_month, simulated_closing_day


@pytest.fixture
def engine(db, backfill_env, fast_limits, sent, simulator, monkeypatch):
    """Jobs run their units in this process; the simulator and the engine share one today."""

    def at(today: date) -> None:
        simulator.set_today(today)
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today)

    return at


def run_job(request: dict, django_capture_on_commit_callbacks) -> list[BackfillUnit]:
    job = jobs.create_job(request=backfill_request(request))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.start_queued_jobs()
    while unit := job.units.filter(status=UnitStatus.RUNNING).first():
        with django_capture_on_commit_callbacks(execute=True):
            execution.run_unit(unit_id=unit.pk, token=unit.lease_token)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_summary
    return list(job.units.order_by("logical_date", "district_id"))


def test_month_end_of_an_unknown_month_is_probed_then_collected_at_its_closing_date(
    engine, simulator, django_capture_on_commit_callbacks
):
    engine(date(2026, 11, 30))
    march = date(2016, 3, 1)  # before the registry: old enough to be probed when it runs
    closing = next_month(march).replace(day=simulated_closing_day(march))

    (unit,) = run_job(
        # Without the date's all-districts summary, whose request would follow the collection.
        {"startDate": "2016-03-31", "targetDistricts": ["2"], "collectSummary": False},
        django_capture_on_commit_callbacks,
    )

    assert unit.status == UnitStatus.SUCCEEDED, unit.error_message
    log = simulator.requests()
    probes = [e for e in log if e["report"] == "districtsummary"]
    collected = [e for e in log if e["report"] != "districtsummary"]
    assert 1 <= len(probes) <= 7
    assert log[: len(probes)] == probes  # probes first, then the collection
    assert {(e["as_of"], e["month_end"], e["district"]) for e in collected} == {
        (closing.isoformat(), "2016-03-31", "02")
    }
    assert MonthEndClosing.objects.get(data_month=march).closing_date == closing
    assert closing_date_for(march) == closing


def test_month_end_still_closing_when_its_unit_runs_waits_and_stores_nothing(
    engine, simulator, snapshot_root, monkeypatch, django_capture_on_commit_callbacks
):
    october = date(2026, 10, 1)
    october_closes = next_month(october).replace(day=simulated_closing_day(october))
    engine(october_closes - timedelta(days=4))
    monkeypatch.setattr(month_ends, "RECENT_MONTH_END_DAYS", -1)  # the planner lets it run

    (unit,) = run_job(
        {"startDate": "2026-10-31", "targetDistricts": ["42"]}, django_capture_on_commit_callbacks
    )

    assert unit.status == UnitStatus.WAITING
    assert unit.error_message.startswith("2026-10 is still closing on the dashboard")
    assert unit.job.waiting_units == 1
    assert {e["report"] for e in simulator.requests()} == {"districtsummary"}
    assert not (snapshot_root / "2026-10-31").exists()
    row = MonthEndClosing.objects.get(data_month=october)
    assert (row.closing_date, row.still_closing_on) == (None, october_closes - timedelta(days=5))
