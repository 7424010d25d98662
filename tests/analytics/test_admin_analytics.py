"""analytics/admin.py: the analytics pages of the Backfill section, over documents
written per the spec (tests/fixtures/analytics.py), with Django's test client. The browser test
(tests/browser/test_admin_browser.py) opens the same pages in Chromium."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from analytics.models import AnalyticsKind, AnalyticsOutput
from snapshots import store
from snapshots.models import Snapshot
from tests.factories import BackfillJobFactory
from tests.snapshots.factories import full_statistics

pytestmark = pytest.mark.django_db

LANDING = "/admin/analytics/analyticsoutput/"
RANKINGS = "/admin/analytics/analyticsoutput/rankings/"


def district_page(district_id: str, program_year: str | None = None) -> str:
    url = f"/admin/analytics/analyticsoutput/district/{district_id}/"
    return f"{url}?programYear={program_year}" if program_year else url


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com"))
    return client


def series_markers(body: str, series: str) -> int:
    group = re.search(rf'<g class="bf-chart-series" data-series="{series}".*?</g>', body, re.S)
    assert group, f"no {series} series in the chart"
    return group.group(0).count("<circle ")


def series_lines(body: str, series: str) -> int:
    group = re.search(rf'<g class="bf-chart-series" data-series="{series}".*?</g>', body, re.S)
    return group.group(0).count("<polyline ")


# --- the landing page -----------------------------------------------------------------------


def test_the_landing_page_lists_districts_with_their_years_and_ranking_dates(staff, analytics_data):
    body = staff.get(LANDING).content.decode()
    for district_id, year in (("42", "2024-2025"), ("42", "2023-2024"), ("F", "2024-2025")):
        assert f'href="{district_page(district_id, year)}"' in body
    for day in analytics_data.ranking_dates:
        assert f'href="{RANKINGS}?date={day.isoformat()}"' in body
    assert "Latest rankings (2025-01-31)" in body
    assert body.index(">2025-01<") < body.index(">2024-06<")  # newest month first


def test_the_landing_page_without_analytics_says_how_to_generate_them(staff):
    body = staff.get(LANDING).content.decode()
    assert "Nothing has been generated yet" in body
    assert "/admin/backfill/backfilljob/add/?job_type=analytics-generation" in body


def test_the_admin_index_links_the_analytics_from_the_backfill_panel(staff, analytics_data):
    body = staff.get("/admin/").content.decode()
    panel = body[body.index('id="bf-overview"') :]
    assert f'href="{LANDING}" id="bf-analytics-link"' in panel
    assert "3 districts, rankings up to 2025-01-31" in panel


def test_an_index_row_opens_the_page_of_its_document(staff, analytics_data):
    series = AnalyticsOutput.objects.get(kind=AnalyticsKind.DISTRICT_TIME_SERIES, district_id="F")
    ranking = AnalyticsOutput.objects.get(logical_date=date(2025, 1, 30))
    assert staff.get(f"{LANDING}{series.pk}/change/")["Location"] == district_page("F", "2024-2025")
    assert staff.get(f"{LANDING}{ranking.pk}/change/")["Location"] == f"{RANKINGS}?date=2025-01-30"


def test_the_pages_are_read_only_and_staff_only(staff, analytics_data):
    assert staff.get(f"{LANDING}add/").status_code == 403
    anonymous = Client()
    for url in (LANDING, district_page("42"), RANKINGS):
        assert anonymous.get(url).status_code == 302  # to the login page


# --- a district's program year --------------------------------------------------------------


def test_the_district_page_charts_one_point_per_value_of_each_series(staff, analytics_data):
    response = staff.get(district_page("42"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<svg class="bf-chart" id="bf-chart"' in body
    points = analytics_data.points_of("42")
    assert series_markers(body, "activeMembers") == points == 213
    # 2024-10-01 has no distinguished figures: one point fewer, and the line breaks there.
    assert series_markers(body, "totalDistinguished") == points - 1
    assert (series_lines(body, "activeMembers"), series_lines(body, "totalDistinguished")) == (1, 2)
    assert "2024-10-01: Active members" in body and "2024-10-01: Distinguished clubs" not in body
    for label in ("Jul 2024", "Jan 2025", "Jun", "Active members (left axis)", "Snapshot date"):
        assert f">{label}</text>" in body


def test_the_district_page_defaults_to_the_latest_year_and_offers_the_others(staff, analytics_data):
    response = staff.get(district_page("042"))  # any accepted form of the id
    assert response.context["result"].program_year == "2024-2025"
    body = response.content.decode()
    assert '<option value="2024-2025" selected>' in body and '<option value="2023-2024">' in body
    older = staff.get(district_page("42", "2023-2024")).content.decode()
    assert series_markers(older, "activeMembers") == 4


def test_the_district_page_shows_the_summary_and_the_missing_and_partial_dates(
    staff, analytics_data
):
    response = staff.get(district_page("42"))
    body = response.content.decode()
    summary = response.context["document"]["summary"]["metrics"]["activeMembers"]
    row = re.search(r'<tr data-metric="activeMembers">(.*?)</tr>', body, re.S).group(1)
    assert f"{summary['first']:,}" in row and f"{summary['last']:,}" in row
    assert f"+{summary['change']:,}" in row or f"{summary['change']:,}" in row
    assert f"on {summary['best']['date']}" in row and f"on {summary['worst']['date']}" in row
    assert '<dd id="bf-days-with-data">213</dd>' in body
    missing = re.search(r'id="bf-missing-dates">(.*?)</p>', body, re.S).group(1)
    assert re.findall(r"<span>([\d-]+)</span>", missing) == ["2024-08-03", "2024-12-25"]
    assert "<span>2024-09-10</span>" in re.search(r'id="bf-partial-dates">(.*?)</p>', body).group(1)
    job_url = reverse("admin:backfill_backfilljob_change", args=[analytics_data.job.pk])
    assert f'href="{job_url}"' in body
    assert f'href="{RANKINGS}?date=2025-01-31" id="bf-last-rankings"' in body


def test_a_document_whose_job_was_cleaned_up_names_the_job_without_a_link(staff, analytics_data):
    body = staff.get(district_page("42", "2023-2024")).content.decode()
    assert "by job 00000000-0000-4000-8000-000000000000 (cleaned up)" in body


def test_a_district_without_analytics_is_a_404_page_that_says_how_to_generate_them(
    staff, analytics_data
):
    response = staff.get(district_page("7"))
    assert response.status_code == 404
    body = response.content.decode()
    assert "No analytics have been generated for district 7 yet." in body
    assert "job_type=analytics-generation" in body


def test_a_year_not_generated_links_the_generated_ones(staff, analytics_data):
    response = staff.get(district_page("61", "2023-2024"))
    assert response.status_code == 404
    assert f'href="{district_page("61", "2024-2025")}"' in response.content.decode()


@pytest.mark.parametrize(
    ("url", "field"),
    [(district_page("42", "2024-2026"), "programYear"), (district_page("4200"), "district_id")],
)
def test_a_malformed_question_is_a_400_page_naming_the_field(staff, analytics_data, url, field):
    response = staff.get(url)
    assert response.status_code == 400
    assert f'<p class="errornote">{field}: ' in response.content.decode()


# --- the rankings of a date -----------------------------------------------------------------


def test_the_rankings_page_lists_every_district_in_rank_order(staff, analytics_data):
    response = staff.get(RANKINGS)
    assert response.status_code == 200
    document = response.context["document"]
    assert document["date"] == "2025-01-31"
    body = response.content.decode()
    rows = re.findall(r'<tr data-district="([^"]+)"><td>(\d+)</td>', body)
    assert [d for d, _ in rows] == [r["districtId"] for r in document["rankings"]]
    assert [int(rank) for _, rank in rows] == sorted(int(rank) for _, rank in rows)
    assert len(rows) == len(analytics_data.ranked)
    first = document["rankings"][0]
    cells = re.search(rf'<tr data-district="{first["districtId"]}">(.*?)</tr>', body).group(1)
    values = re.findall(r"<td[^>]*>(.*?)</td>", cells)
    assert values[2] == f"<strong>{first['totalPoints']}</strong>"
    category = document["categories"][0]
    assert values[3:6] == [
        f"{first['values'][category]:.1f}",
        str(first["ranks"][category]),
        str(first["points"][category]),
    ]
    for label in ("Club growth %", "Payment growth %", "Distinguished %"):
        assert f'<th colspan="3" class="bf-group">{label}</th>' in body


def test_the_rankings_link_each_district_with_analytics_and_the_dates_around(staff, analytics_data):
    body = staff.get(RANKINGS, {"date": "2025-01-30"}).content.decode()
    for district_id in analytics_data.districts:
        assert f'<a href="{district_page(district_id, "2024-2025")}">{district_id}</a>' in body
    assert '<tr data-district="7"><td>' in body and district_page("7") not in body
    assert f'href="{RANKINGS}?date=2025-01-29" id="bf-previous"' in body
    assert f'href="{RANKINGS}?date=2025-01-31" id="bf-next"' in body
    # A district without a value in a category is unranked there with 0 points.
    seven = re.search(r'<tr data-district="7">(.*?)</tr>', body).group(1)
    assert '<td class="bf-group">-</td><td>-</td><td>0</td>' in seven


def test_a_date_without_rankings_is_a_404_page_linking_the_nearest(staff, analytics_data):
    response = staff.get(RANKINGS, {"date": "2025-01-01"})
    assert response.status_code == 404
    body = response.content.decode()
    assert f'href="{RANKINGS}?date=2024-06-30"' in body
    assert f'href="{RANKINGS}?date=2025-01-29"' in body


def test_a_malformed_date_is_a_400_page_naming_the_field(staff, analytics_data):
    response = staff.get(RANKINGS, {"date": "31/01/2025"})
    assert response.status_code == 400
    assert '<p class="errornote">date: ' in response.content.decode()


# --- links from the job page and the snapshot pages -----------------------------------------


def test_the_job_page_links_the_outputs_the_job_wrote(staff, analytics_data):
    job_url = reverse("admin:backfill_backfilljob_change", args=[analytics_data.job.pk])
    body = staff.get(job_url).content.decode()
    panel = re.search(r'id="bf-job-analytics">(.*?)</div>', body, re.S).group(1)
    assert "Analytics written (6)" in panel  # 3 time series, 3 ranking dates
    links = re.findall(r'href="([^"]+)">([^<]+)</a>', panel)
    assert links[:3] == [
        (district_page(d, "2024-2025"), f"{d} 2024-2025") for d in ("42", "61", "F")
    ]
    assert (f"{RANKINGS}?date=2025-01-29", "2025-01-29") in links
    assert (f"{RANKINGS}?date=2025-01-31", "2025-01-31") in links
    assert "2023-2024" not in panel  # written by another job


def test_a_job_without_outputs_has_no_analytics_panel(staff):
    job = BackfillJobFactory()
    body = staff.get(reverse("admin:backfill_backfilljob_change", args=[job.pk])).content
    assert b"bf-job-analytics" not in body


def test_the_snapshot_pages_link_the_rankings_and_the_districts_analytics(staff, analytics_data):
    day = date(2025, 1, 31)
    for district_id in ("42", "7"):
        store.write_district(
            logical_date=day, statistics=full_statistics(district_id=district_id, logical_date=day)
        )
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="per-district",
        scope=["42", "7"],
        job_id=None,
        district_errors={},
    )
    snapshot = Snapshot.objects.get(logical_date=day)
    page = staff.get(f"/admin/snapshots/snapshot/{snapshot.pk}/change/").content.decode()
    assert f'href="{RANKINGS}?date=2025-01-31" id="bf-snapshot-rankings-link"' in page
    district_42 = staff.get(f"/admin/snapshots/snapshot/{snapshot.pk}/district/42/")
    assert f'href="{district_page("42", "2024-2025")}"' in district_42.content.decode()
    district_7 = staff.get(f"/admin/snapshots/snapshot/{snapshot.pk}/district/7/")
    assert b"bf-district-analytics-link" not in district_7.content  # none generated for 7
