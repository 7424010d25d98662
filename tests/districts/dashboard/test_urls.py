import json
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from districts.dashboard.closing import closing_date_for, closing_period_month
from districts.dashboard.errors import ValidationFailed
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import (
    EARLIEST_DATE,
    ExportRequest,
    export_urls,
    month_end,
    parse_token,
    program_year_of,
    request_for,
    request_for_as_of,
)

BASE = "https://dashboards.toastmasters.org"
UNPADDED_DATE = re.compile(r"^[1-9]\d?/[1-9]\d?/\d{4}$")

logical_dates = st.dates(min_value=EARLIEST_DATE, max_value=date(2030, 12, 31))
reports = st.sampled_from(list(ReportType))
district_ids = st.sampled_from(["02", "21", "128", "F", "U", "201"])


def request_strategy():
    return st.builds(
        lambda report, day, district: request_for(
            report, day, None if report == ReportType.DISTRICT_SUMMARY else district
        ),
        reports,
        logical_dates,
        district_ids,
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 7, 1), "2024-2025"),
        (date(2025, 6, 30), "2024-2025"),
        (date(2025, 1, 15), "2024-2025"),
        (date(2008, 7, 1), "2008-2009"),
    ],
)
def test_program_year_runs_july_to_june(day, expected):
    assert program_year_of(day) == expected


def test_mid_month_request_uses_the_month_end_of_its_own_month():
    request = request_for(ReportType.CLUB_PERFORMANCE, date(2025, 3, 15), "21")

    assert request.token == "clubperformance~21~3/31/2025~3/15/2025~2024-2025"
    assert request.logical_date == date(2025, 3, 15)
    assert not request.is_closing_period


def test_month_end_request_is_collected_at_the_registry_closing_date():
    request = request_for(ReportType.DISTRICT_SUMMARY, date(2024, 12, 31))

    assert request.as_of == date(2025, 1, 8)
    assert request.data_month == date(2024, 12, 1)
    assert request.token == "districtsummary~12/31/2024~1/8/2025~2024-2025"
    assert request.is_closing_period


def test_june_closing_in_july_keeps_the_program_year_of_the_data_month():
    request = request_for(ReportType.DIVISION_PERFORMANCE, date(2025, 6, 30), "02")

    assert request.as_of == date(2025, 7, 20)
    assert request.program_year == "2024-2025"
    assert export_urls(request, BASE) == (
        f"{BASE}/2024-2025/export.aspx?type=CSV&report="
        "divisionperformance~02~6/30/2025~7/20/2025~2024-2025",
        f"{BASE}/export.aspx?type=CSV&report=divisionperformance~02~6/30/2025~7/20/2025~2024-2025",
    )


def test_month_end_unknown_to_the_registry_is_requested_as_of_itself():
    request = request_for(ReportType.CLUB_PERFORMANCE, date(2010, 3, 31), "21")

    assert request.as_of == date(2010, 3, 31)
    assert request.token == "clubperformance~21~3/31/2010~3/31/2010~2009-2010"


def test_april_2022_closed_inside_its_own_month():
    request = request_for(ReportType.DISTRICT_SUMMARY, date(2022, 4, 30))

    assert request.as_of == date(2022, 4, 30)
    assert closing_period_month(date(2022, 5, 1)) is None


def test_dates_before_program_year_2008_2009_are_invalid():
    with pytest.raises(ValidationFailed, match="2008-2009"):
        request_for(ReportType.DISTRICT_SUMMARY, EARLIEST_DATE - timedelta(days=1))


def test_base_url_trailing_slash_is_not_doubled():
    request = request_for(ReportType.DISTRICT_SUMMARY, date(2025, 3, 15))

    archive, root = export_urls(request, BASE + "/")

    assert archive.startswith(f"{BASE}/2024-2025/export.aspx?")
    assert root.startswith(f"{BASE}/export.aspx?")


@pytest.mark.parametrize(
    ("report", "district_id"),
    [
        (ReportType.DISTRICT_SUMMARY, "21"),
        (ReportType.CLUB_PERFORMANCE, None),
        (ReportType.CLUB_PERFORMANCE, "21~x"),
        (ReportType.CLUB_PERFORMANCE, ""),
        ("nonsense", "21"),
    ],
)
def test_malformed_requests_are_rejected(report, district_id):
    with pytest.raises(ValidationFailed):
        request_for(report, date(2025, 3, 15), district_id)


def test_request_rejects_a_data_month_that_is_not_a_first_day():
    with pytest.raises(ValidationFailed, match="first day"):
        ExportRequest(
            report=ReportType.DISTRICT_SUMMARY,
            district_id=None,
            data_month=date(2025, 3, 2),
            as_of=date(2025, 3, 15),
            logical_date=date(2025, 3, 15),
        )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 1, 4), date(2024, 12, 1)),
        (date(2025, 1, 8), date(2024, 12, 1)),
        (date(2025, 1, 9), None),
        (date(2024, 12, 31), None),
        (date(2025, 7, 20), date(2025, 6, 1)),
        (date(2025, 7, 21), None),
        (date(2012, 1, 3), None),  # the registry starts in 2017
    ],
)
def test_closing_period_month_of_a_day(day, expected):
    assert closing_period_month(day) == expected


def test_operator_registry_extends_and_overrides_the_shipped_one(settings, tmp_path):
    extra = tmp_path / "closing.json"
    extra.write_text(json.dumps({"2010-03": "2010-04-07", "2024-12": "2025-01-09"}))
    settings.CLOSING_DATES_FILE = str(extra)

    assert closing_date_for(date(2010, 3, 1)) == date(2010, 4, 7)
    assert closing_date_for(date(2024, 12, 1)) == date(2025, 1, 9)
    assert closing_date_for(date(2025, 6, 1)) == date(2025, 7, 20)
    assert request_for(ReportType.DISTRICT_SUMMARY, date(2010, 3, 31)).as_of == date(2010, 4, 7)


def test_operator_registry_in_the_shipped_shape_is_read(settings, tmp_path):
    extra = tmp_path / "closing.json"
    months = [{"dataMonth": "2011-06", "closingDate": "2011-07-15"}]
    extra.write_text(json.dumps({"months": months}))
    settings.CLOSING_DATES_FILE = str(extra)

    assert closing_date_for(date(2011, 6, 1)) == date(2011, 7, 15)


def test_malformed_operator_registry_is_a_configuration_error(settings, tmp_path):
    extra = tmp_path / "closing.json"
    extra.write_text(json.dumps({"2010-03": "soon"}))
    settings.CLOSING_DATES_FILE = str(extra)

    with pytest.raises(ImproperlyConfigured, match="closing-dates registry"):
        closing_date_for(date(2010, 3, 1))


def test_token_with_empty_dates_parses_to_none():
    token = parse_token("clubperformance~21~~~2023-2024")

    assert (token.month_end, token.as_of, token.program_year) == (None, None, "2023-2024")


@pytest.mark.parametrize(
    "token",
    [
        "clubperformance~21~3/31/2025~3/15/2025",
        "districtsummary~21~3/31/2025~3/15/2025~2024-2025",
        "bogus~3/31/2025~3/15/2025~2024-2025",
        "districtsummary~3/32/2025~3/15/2025~2024-2025",
        "districtsummary~3/31/2025~3/15/2025~2024-2026",
        "clubperformance~2 1~3/31/2025~3/15/2025~2024-2025",
    ],
)
def test_malformed_tokens_are_rejected(token):
    with pytest.raises(ValidationFailed):
        parse_token(token)


@settings(max_examples=200)
@given(day=logical_dates)
def test_program_year_comes_from_the_data_month(day):
    request = request_for(ReportType.DISTRICT_SUMMARY, day)

    assert request.program_year == program_year_of(request.data_month)
    start = int(request.program_year[:4])
    assert date(start, 7, 1) <= request.data_month <= date(start + 1, 6, 1)


@settings(max_examples=200)
@given(request=request_strategy())
def test_month_end_is_the_last_day_of_the_data_month(request):
    assert request.month_end.replace(day=1) == request.data_month
    assert (request.month_end + timedelta(days=1)).day == 1
    assert request.data_month <= request.logical_date <= request.month_end
    assert request.as_of >= request.logical_date


@settings(max_examples=200)
@given(request=request_strategy())
def test_token_round_trips_and_never_leaves_a_date_empty(request):
    parsed = parse_token(request.token)

    assert parsed.report == request.report
    assert parsed.district_id == request.district_id
    assert parsed.month_end == request.month_end
    assert parsed.as_of == request.as_of
    assert parsed.program_year == request.program_year
    for segment in request.token.split("~")[-3:-1]:
        assert UNPADDED_DATE.match(segment)


@settings(max_examples=100)
@given(request=request_strategy())
def test_archive_path_comes_first_then_root(request):
    archive, root = export_urls(request, BASE)
    query = f"export.aspx?type=CSV&report={request.token}"

    assert archive == f"{BASE}/{request.program_year}/{query}"
    assert root == f"{BASE}/{query}"


def test_closing_period_as_of_in_july_asks_for_june_of_the_previous_program_year():
    request = request_for_as_of(ReportType.DISTRICT_SUMMARY, date(2025, 7, 5))

    assert request.token == "districtsummary~6/30/2025~7/5/2025~2024-2025"
    assert export_urls(request, BASE)[0] == (
        f"{BASE}/2024-2025/export.aspx?type=CSV&report=districtsummary~6/30/2025~7/5/2025~2024-2025"
    )
    assert request.logical_date == date(2025, 6, 30)
    assert request.is_closing_period


def test_closing_period_as_of_in_a_leap_march_asks_for_february_29():
    request = request_for_as_of(ReportType.CLUB_PERFORMANCE, date(2024, 3, 1), "21")

    assert request.token == "clubperformance~21~2/29/2024~3/1/2024~2023-2024"
    assert request.data_month == date(2024, 2, 1)


def test_as_of_after_the_closing_date_asks_for_its_own_month():
    request = request_for_as_of(ReportType.DISTRICT_SUMMARY, date(2025, 7, 21))

    assert request.token == "districtsummary~7/31/2025~7/21/2025~2025-2026"
    assert request.logical_date == date(2025, 7, 21)
    assert not request.is_closing_period


def test_as_of_builder_refuses_dates_before_program_year_2008_2009():
    with pytest.raises(ValidationFailed, match="2008-2009"):
        request_for_as_of(ReportType.DISTRICT_SUMMARY, EARLIEST_DATE - timedelta(days=1))


@settings(max_examples=300)
@given(as_of=logical_dates, report=reports, district=district_ids)
def test_as_of_builder_asks_for_the_month_the_site_serves(as_of, report, district):
    district_id = None if report == ReportType.DISTRICT_SUMMARY else district
    request = request_for_as_of(report, as_of, district_id)
    closing_of = closing_period_month(as_of)

    assert request.as_of == as_of
    assert request.data_month == (closing_of or as_of.replace(day=1))
    assert request.program_year == program_year_of(request.data_month)
    assert request.is_closing_period == (closing_of is not None)
    # The token's month end never lies after the as-of, and only a closing as-of reaches back.
    assert request.month_end == month_end(request.data_month)
    assert request.data_month <= as_of
    if closing_of is not None:
        assert as_of <= closing_date_for(closing_of)
        assert request.logical_date == request.month_end


@settings(max_examples=300)
@given(data_month=st.dates(min_value=date(2017, 1, 1), max_value=date(2026, 7, 31)))
def test_every_day_of_a_known_closing_period_asks_for_the_closing_month(data_month):
    data_month = data_month.replace(day=1)
    closing = closing_date_for(data_month)
    day = month_end(data_month) + timedelta(days=1)
    while day <= closing:
        request = request_for_as_of(ReportType.DISTRICT_SUMMARY, day)
        assert request.data_month == data_month, day
        assert request.program_year == program_year_of(data_month)
        day += timedelta(days=1)
    after = request_for_as_of(ReportType.DISTRICT_SUMMARY, max(day, closing + timedelta(days=1)))
    assert after.data_month > data_month


@pytest.mark.parametrize(
    ("district_id", "in_url"),
    [
        ("2", "02"),
        ("02", "02"),
        ("9", "09"),
        ("21", "21"),
        ("128", "128"),
        ("F", "F"),
        ("u", "U"),
        ("201", "201"),
    ],
)
def test_per_district_tokens_carry_the_district_id_as_the_site_writes_it(district_id, in_url):
    for build in (request_for, request_for_as_of):
        request = build(ReportType.CLUB_PERFORMANCE, date(2025, 3, 15), district_id)

        assert request.district_id == in_url
        assert request.token == f"clubperformance~{in_url}~3/31/2025~3/15/2025~2024-2025"
