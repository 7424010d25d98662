"""districts/closing_discovery.py: closing dates after the registry, found by probing the
simulator over real HTTP through the project's client and the global rate limiter."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from backfill import limits
from districts.closing_discovery import (
    MAX_PROBES,
    MAX_REQUESTS,
    discover_closing_date,
    search_closing,
)
from districts.dashboard.client import DashboardClient
from districts.dashboard.closing import closing_date_for, closing_period_month, still_closing_on
from districts.dashboard.errors import DataUnavailable
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import request_for, request_for_as_of
from districts.models import ClosingSource, MonthEndClosing
from simulator.periods import next_month, simulated_closing_day

TODAY = date(2026, 11, 30)


def simulated_closing(month: date) -> date:
    return next_month(month).replace(day=simulated_closing_day(month))


@pytest.fixture
def prefix(settings):
    """Private limiter and breaker keys for the test."""
    value = f"closing-test-{uuid.uuid4().hex[:12]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = value
    yield value
    redis_client = limits.get_redis()
    for key in redis_client.scan_iter(match=f"{value}:*", count=1000):
        redis_client.delete(key)


@pytest.fixture
def counting_limits(fast_limits):
    """Full speed, with a window long enough to count every grant of a test."""
    fast_limits.window_ms = 600_000
    fast_limits.save()
    limits.clear_settings_cache()
    yield fast_limits
    limits.clear_settings_cache()


@pytest.fixture
def client(simulator, prefix, counting_limits):
    simulator.set_today(TODAY)
    guard = limits.dashboard_guard(enable_caching=False)
    with DashboardClient(
        base_url=simulator.base_url,
        before_request=guard.before_request,
        after_response=guard.after_response,
        backoff_base=0.001,
        backoff_max=0.01,
        read_timeout=5,
    ) as client:
        yield client


def summary_probes(simulator) -> list[dict]:
    return [e for e in simulator.requests() if e["report"] == ReportType.DISTRICT_SUMMARY]


@pytest.mark.parametrize("month", [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)])
def test_months_after_the_registry_are_discovered_in_a_handful_of_summary_requests(
    db, simulator, client, prefix, month
):
    assert closing_date_for(month) is None

    found = discover_closing_date(client=client, data_month=month, today=TODAY)

    assert found.closing_date == simulated_closing(month)
    assert not found.is_open
    # At most what the README promises, the live year's first probe trying two paths.
    assert 1 <= found.requests <= MAX_REQUESTS == 6
    assert len(summary_probes(simulator)) == found.requests == len(simulator.requests())
    # Every probe passed the global limiter (its grants are counted in Redis).
    assert limits.rate_limiter().status().current_count == found.requests
    row = MonthEndClosing.objects.get(data_month=month)
    assert (row.closing_date, row.source, row.probes) == (
        found.closing_date,
        ClosingSource.DISCOVERED,
        found.requests,
    )
    assert closing_date_for(month) == found.closing_date


def test_discovered_month_end_is_requested_at_its_closing_date_and_its_period_is_known(
    db, simulator, client
):
    discover_closing_date(client=client, data_month=date(2026, 10, 1), today=TODAY)
    closing = simulated_closing(date(2026, 10, 1))

    assert request_for(ReportType.DISTRICT_SUMMARY, date(2026, 10, 31)).as_of == closing
    assert closing_period_month(closing) == date(2026, 10, 1)
    assert closing_period_month(closing + timedelta(days=1)) is None
    assert request_for_as_of(ReportType.DISTRICT_SUMMARY, closing).token == (
        f"districtsummary~10/31/2026~{closing.month}/{closing.day}/2026~2026-2027"
    )


def test_a_month_still_served_yesterday_is_recorded_as_still_closing(db, simulator, client):
    october = date(2026, 10, 1)
    today = simulated_closing(october) - timedelta(days=3)  # yesterday still serves October
    simulator.set_today(today)

    found = discover_closing_date(client=client, data_month=october, today=today)

    assert found.is_open
    assert found.still_closing_on == today - timedelta(days=1)
    assert "2026-10 is still closing on the dashboard" in found.waiting_reason
    assert "(2026-10-31)" in found.waiting_reason
    assert closing_date_for(october) is None
    assert still_closing_on(october) == today - timedelta(days=1)
    assert closing_period_month(today - timedelta(days=1)) == october
    # The same day asks no more.
    simulator.reset()
    again = discover_closing_date(client=client, data_month=october, today=today)
    assert again.is_open and again.requests == 0
    assert simulator.requests() == []


def test_probing_resumes_from_the_last_day_seen_still_closing(db, simulator, client):
    october = date(2026, 10, 1)
    closing = simulated_closing(october)
    simulator.set_today(closing)  # yesterday is the last day October is served
    assert discover_closing_date(client=client, data_month=october, today=closing).is_open

    later = closing + timedelta(days=5)
    simulator.set_today(later)
    simulator.reset()
    found = discover_closing_date(client=client, data_month=october, today=later)

    assert found.closing_date == closing
    assert found.requests <= 3


def test_june_closing_in_july_is_discovered_across_the_program_year_change(db, simulator, client):
    june = date(2016, 6, 1)  # before the registry

    found = discover_closing_date(client=client, data_month=june, today=TODAY)

    assert found.closing_date == simulated_closing(june)
    assert 12 <= found.closing_date.day <= 29
    assert {e["program_year"] for e in summary_probes(simulator)} == {"2016-2017"}


def test_known_months_send_no_request(db, simulator, client):
    found = discover_closing_date(client=client, data_month=date(2026, 7, 1), today=TODAY)

    assert (found.closing_date, found.source, found.requests) == (
        date(2026, 8, 10),
        "shipped",
        0,
    )
    assert simulator.requests() == []


def test_a_month_not_over_by_yesterday_is_open_without_a_request(db, simulator, client):
    found = discover_closing_date(client=client, data_month=date(2026, 11, 1), today=TODAY)

    assert found.is_open and found.requests == 0
    assert simulator.requests() == []


def test_a_spent_probe_budget_keeps_what_it_learnt_and_says_so(db, simulator, client):
    with pytest.raises(DataUnavailable, match="did not narrow it down"):
        discover_closing_date(client=client, data_month=date(2026, 9, 1), today=TODAY, max_probes=2)

    row = MonthEndClosing.objects.get(data_month=date(2026, 9, 1))
    assert row.closing_date is None
    assert date(2026, 9, 30) <= row.still_closing_on <= simulated_closing(date(2026, 9, 1))
    # The next call finishes the search from there.
    found = discover_closing_date(client=client, data_month=date(2026, 9, 1), today=TODAY)
    assert found.closing_date == simulated_closing(date(2026, 9, 1))


@pytest.mark.parametrize("window", range(1, 32))
def test_every_closing_day_of_a_window_up_to_31_days_is_found_within_the_probe_budget(window):
    served = date(2026, 9, 30)
    window_end = served + timedelta(days=window)
    # `first`: the first day no longer serving the month; window_end + 1: served all along.
    for offset in range(1, window + 2):
        first = served + timedelta(days=offset)
        asked: list[date] = []

        def closed_by(as_of: date, first: date = first, asked: list[date] = asked) -> bool:
            assert served < as_of <= window_end and as_of not in asked
            asked.append(as_of)
            return as_of >= first

        last_served, unserved, probes = search_closing(served, window_end, closed_by)

        assert probes == len(asked) <= MAX_PROBES
        assert last_served == first - timedelta(days=1)
        assert unserved == (first if first <= window_end else None)


def test_a_month_still_closing_yesterday_costs_one_probe_when_the_window_allows():
    asked: list[date] = []

    def closed_by(as_of: date) -> bool:
        asked.append(as_of)
        return False

    served = date(2026, 10, 31)
    assert search_closing(served, served + timedelta(days=16), closed_by)[1] is None
    assert asked == [served + timedelta(days=16)]
