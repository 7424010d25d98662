"""Collecting exports over real HTTP against the simulator: acceptance, archive->root fallback,
the response cache, cancellation, and whole districts and summaries."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import redis
from django.conf import settings

from backfill.limits import ResponseCache
from districts.dashboard.client import DashboardClient
from districts.dashboard.closing import closing_date_for
from districts.dashboard.collect import (
    CollectionCancelled,
    collect_district,
    collect_summary,
    fetch_export,
)
from districts.dashboard.errors import DashboardError, DataUnavailable, ErrorType, ValidationFailed
from districts.dashboard.reports import PER_DISTRICT_REPORTS, ReportType
from districts.dashboard.urls import request_for

TODAY = date(2026, 9, 23)  # live program year 2026-2027
PAST_DAY = date(2025, 3, 14)  # program year 2024-2025, served on the archive path
LIVE_DAY = date(2026, 9, 10)


class DictCache:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def get(self, url: str) -> bytes | None:
        return self.entries.get(url)

    def set(self, url: str, data: bytes) -> None:
        self.entries[url] = data


@pytest.fixture
def site(simulator):
    simulator.set_today(TODAY)
    return simulator


@pytest.fixture
def client(site):
    with DashboardClient(
        base_url=site.base_url,
        cache=DictCache(),
        backoff_base=0.001,
        backoff_max=0.01,
        read_timeout=5,
    ) as client:
        yield client


def club_request(day: date = PAST_DAY, district: str = "21"):
    return request_for(ReportType.CLUB_PERFORMANCE, day, district)


def paths(site) -> list[str]:
    return [entry["path"].split("?")[0] for entry in site.requests()]


def test_past_year_is_accepted_from_the_archive_path(site, client):
    parsed, raw = fetch_export(client, club_request(), today=TODAY)

    assert parsed.report == ReportType.CLUB_PERFORMANCE
    assert parsed.footer.as_of == PAST_DAY
    assert parsed.rows
    assert raw.endswith(b"Month of Mar, As of 03/14/2025\r\n")
    assert paths(site) == ["/2024-2025/export.aspx"]


def test_live_year_falls_back_to_the_root_path_and_goes_there_first_afterwards(site, client):
    parsed, _ = fetch_export(client, club_request(LIVE_DAY), today=TODAY)

    assert parsed.footer.as_of == LIVE_DAY
    assert [(e["path"].split("?")[0], e["status"]) for e in site.requests()] == [
        ("/2026-2027/export.aspx", 500),
        ("/export.aspx", 200),
    ]
    fetch_export(client, club_request(date(2026, 9, 11)), today=TODAY)
    assert paths(site)[2:] == ["/export.aspx"]


def test_past_year_server_error_is_retried_on_the_archive_path(site, client):
    site.set_faults(fail_next=2, error_status=503)

    parsed, _ = fetch_export(client, club_request(), today=TODAY)

    assert parsed.footer.as_of == PAST_DAY
    assert paths(site) == ["/2024-2025/export.aspx"] * 3


def test_unpublished_year_is_data_unavailable_without_following_the_redirect(site, client):
    request = club_request(date(2027, 8, 10))

    with pytest.raises(DataUnavailable):
        fetch_export(client, request, today=TODAY)

    assert [(e["path"].split("?")[0], e["status"]) for e in site.requests()] == [
        ("/2027-2028/export.aspx", 302),
        ("/export.aspx", 200),
    ]
    assert client.cache.entries == {}


@pytest.mark.parametrize(
    "faults",
    [
        {"malformed_next": 1},
        {"truncated_next": 1, "truncate_mode": "content"},
        {"html_error_next": 1},
    ],
    ids=["malformed", "truncated", "html-page"],
)
def test_broken_body_is_validation_failed_and_not_retried(site, client, faults):
    site.set_faults(**faults)

    with pytest.raises(ValidationFailed) as caught:
        fetch_export(client, club_request(), today=TODAY)

    assert caught.value.error_type == ErrorType.VALIDATION_FAILED
    assert caught.value.retryable is False
    assert len(site.requests()) == 1
    assert client.cache.entries == {}


def test_header_only_answer_is_data_unavailable(site, client):
    site.set_faults(no_data_dates=[PAST_DAY.isoformat()])

    with pytest.raises(DataUnavailable) as caught:
        fetch_export(client, club_request(), today=TODAY)

    assert caught.value.retryable is False
    assert len(site.requests()) == 1
    assert client.cache.entries == {}


def test_unknown_district_is_data_unavailable(site, client):
    site.set_faults(unknown_districts=["21"])

    with pytest.raises(DataUnavailable):
        fetch_export(client, club_request(), today=TODAY)


def test_server_errors_on_every_attempt_fail_retryable(site, client):
    site.set_faults(fail_next=10)

    with pytest.raises(DashboardError) as caught:
        fetch_export(client, club_request(), today=TODAY)

    assert caught.value.error_type == ErrorType.FETCH_FAILED
    assert caught.value.retryable is True
    assert len(site.requests()) == settings.DASHBOARD_MAX_ATTEMPTS


def test_cache_hit_makes_no_request(site, client):
    first, raw = fetch_export(client, club_request(), today=TODAY)
    requests_before = len(site.requests())

    again, cached = fetch_export(client, club_request(), today=TODAY)

    assert again == first
    assert cached == raw
    assert len(site.requests()) == requests_before
    assert client.cache_hits == 1


def test_cache_serves_the_live_year_from_its_root_entry(site, client):
    fetch_export(client, club_request(LIVE_DAY), today=TODAY)
    requests_before = len(site.requests())

    fetch_export(client, club_request(LIVE_DAY), today=TODAY)

    assert len(site.requests()) == requests_before


def test_shared_redis_cache_serves_a_second_client(site):
    connection = redis.Redis.from_url(settings.REDIS_URL)
    cache = ResponseCache(connection, key_prefix=f"test-collect-{uuid.uuid4().hex}")
    try:
        with DashboardClient(base_url=site.base_url, cache=cache) as first:
            fetch_export(first, club_request(), today=TODAY)
        with DashboardClient(base_url=site.base_url, cache=cache) as second:
            parsed, _ = fetch_export(second, club_request(), today=TODAY)
        assert parsed.footer.as_of == PAST_DAY
        assert len(site.requests()) == 1
        assert (second.requests_made, second.cache_hits) == (0, 1)
    finally:
        cache.clear()
        connection.close()


def test_collect_district_normalizes_three_reports(site, client):
    collected = collect_district(client, district_id="21", logical_date=PAST_DAY, today=TODAY)

    assert set(collected.raw) == set(PER_DISTRICT_REPORTS)
    assert collected.as_of == PAST_DAY
    assert collected.requests == 3
    statistics = collected.statistics
    assert (statistics.district_id, statistics.logical_date) == ("21", PAST_DAY)
    assert statistics.detail == "full"
    assert statistics.club_details
    assert statistics.as_of_date == PAST_DAY
    assert sorted(entry["report"] for entry in site.requests()) == sorted(PER_DISTRICT_REPORTS)


def test_collect_district_on_a_month_end_asks_for_the_closing_date(site, client):
    month_end = date(2025, 3, 31)
    closing = closing_date_for(month_end)

    collected = collect_district(client, district_id="21", logical_date=month_end, today=TODAY)

    assert closing is not None and closing > month_end
    assert collected.as_of == closing
    assert collected.statistics.logical_date == month_end
    assert {entry["as_of"] for entry in site.requests()} == {closing.isoformat()}
    assert {entry["month_end"] for entry in site.requests()} == {month_end.isoformat()}


def test_collect_district_asks_with_the_site_form_of_the_id_and_keeps_the_canonical_one(
    site, client
):
    collected = collect_district(client, district_id="2", logical_date=PAST_DAY, today=TODAY)

    assert {entry["district"] for entry in site.requests()} == {"02"}
    assert all("performance~02~" in entry["path"] for entry in site.requests())
    assert collected.statistics.district_id == "2"
    assert collected.statistics.club_details


def test_collect_district_counts_retries_as_requests(site, client):
    site.set_faults(fail_next=1)

    collected = collect_district(client, district_id="21", logical_date=PAST_DAY, today=TODAY)

    assert collected.requests == 4


def test_collect_summary_gives_every_district(site, client):
    collected = collect_summary(client, logical_date=PAST_DAY, today=TODAY)

    assert collected.as_of == PAST_DAY
    assert collected.requests == 1
    assert len(collected.statistics_by_district) > 100
    assert "21" in collected.statistics_by_district
    assert collected.raw.endswith(b"Month of Mar, As of 03/14/2025\r\n")
    assert [entry["report"] for entry in site.requests()] == ["districtsummary"]


def test_collect_summary_of_the_live_year_comes_from_the_root(site, client):
    collected = collect_summary(client, logical_date=LIVE_DAY, today=TODAY)

    assert collected.as_of == LIVE_DAY
    assert paths(site) == ["/2026-2027/export.aspx", "/export.aspx"]


def test_should_stop_cancels_before_the_next_report_request(site, client):
    answers = iter([False, True])

    with pytest.raises(CollectionCancelled):
        collect_district(
            client,
            district_id="21",
            logical_date=PAST_DAY,
            should_stop=lambda: next(answers),
            today=TODAY,
        )

    assert len(site.requests()) == 1


def test_should_stop_before_the_summary_sends_nothing(site, client):
    with pytest.raises(CollectionCancelled):
        collect_summary(client, logical_date=PAST_DAY, should_stop=lambda: True, today=TODAY)

    assert site.requests() == []
