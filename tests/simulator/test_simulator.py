"""The dashboard simulator: its data, its CSV bytes, the real site's answers, faults, request log.

Everything that crosses the wire is exercised over real HTTP with `requests`.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import date, timedelta

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from districts.dashboard.csv import parse_export
from districts.dashboard.errors import ValidationFailed
from districts.dashboard.reports import (
    CLUB_PERFORMANCE_2020,
    CLUB_PERFORMANCE_2025,
    CLUB_PERFORMANCE_LEGACY,
    DISTRICT_SUMMARY_2025,
    DISTRICT_SUMMARY_LEGACY,
    PER_DISTRICT_REPORTS,
    ReportType,
)
from simulator import (
    ClosingCalendar,
    FaultConfig,
    ProgramYear,
    SimulatedDashboard,
    parse_token,
    render_export,
)

TODAY = date(2026, 9, 23)  # live program year 2026-2027
DASHBOARD = SimulatedDashboard()
CALENDAR = ClosingCalendar()


def club_token(district: str, month_end: str, as_of: str, year: str = "2024-2025") -> str:
    return f"clubperformance~{district}~{month_end}~{as_of}~{year}"


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=kwargs.pop("timeout", 10), allow_redirects=False, **kwargs)


def lines_of(body: bytes) -> list[str]:
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def data_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO("\r\n".join(lines_of(body)[1:-1]))))


def export(report, district="21", month_end=date(2025, 3, 31), as_of=date(2025, 3, 14), py=None):
    return DASHBOARD.export(
        report=report,
        district_id=district,
        month_end=month_end,
        as_of=as_of,
        program_year=py or str(ProgramYear.of(month_end)),
    )


# --- Districts --------------------------------------------------------------------------------
def test_about_120_districts_per_year_with_letter_ids():
    for year in ("2012-2013", "2020-2021", "2024-2025", "2025-2026"):
        ids = DASHBOARD.districts_for(year)
        assert 115 <= len(ids) <= 132
        assert {"F", "U", "2", "21", "61"} <= set(ids)
        assert len(set(ids)) == len(ids)


def test_realignment_leaves_94_districts_with_the_200_series():
    ids = DASHBOARD.districts_for("2026-2027")
    assert len(ids) == 94
    assert {str(n) for n in range(201, 232) if n != 204} <= set(ids)
    assert "204" not in ids and "1" not in ids and {"F", "U", "21"} <= set(ids)


def test_summary_pads_district_numbers_and_per_district_reports_do_not():
    summary = export(ReportType.DISTRICT_SUMMARY)
    districts = [row["district"] for row in summary.rows]
    assert "02" in districts and "2" not in districts and "F" in districts
    assert len(districts) == len(DASHBOARD.districts_for("2024-2025"))
    club = export(ReportType.CLUB_PERFORMANCE, district="2")
    assert {row["district"] for row in club.rows} == {"2"}
    assert export(ReportType.CLUB_PERFORMANCE, district="02").rows == club.rows


# --- Data ---------------------------------------------------------------------------------------
def test_same_inputs_give_identical_bytes_in_a_fresh_dashboard():
    for report in ReportType:
        first = render_export(export(report))
        again = render_export(
            SimulatedDashboard(seed=0).export(
                report=report,
                district_id="21",
                month_end=date(2025, 3, 31),
                as_of=date(2025, 3, 14),
                program_year="2024-2025",
            )
        )
        assert first == again
    other_seed = SimulatedDashboard(seed=1).export(
        report=ReportType.CLUB_PERFORMANCE,
        district_id="21",
        month_end=date(2025, 3, 31),
        as_of=date(2025, 3, 14),
        program_year="2024-2025",
    )
    assert other_seed.rows != export(ReportType.CLUB_PERFORMANCE).rows


def test_club_numbers_and_names_are_stable_over_the_year():
    early = export(
        ReportType.CLUB_PERFORMANCE, month_end=date(2024, 8, 31), as_of=date(2024, 8, 20)
    )
    late = export(ReportType.CLUB_PERFORMANCE, month_end=date(2025, 5, 31), as_of=date(2025, 5, 20))
    early_names = {row["club_number"]: row["club_name"] for row in early.rows}
    late_names = {row["club_number"]: row["club_name"] for row in late.rows}
    assert set(early_names) <= set(late_names)
    assert all(late_names[number] == name for number, name in early_names.items())


def test_payments_add_up_and_the_summary_equals_the_district_sums():
    district = export(ReportType.DISTRICT_PERFORMANCE, district="44")
    assert 20 <= len(district.rows) <= 130
    for row in district.rows:
        late, october, april = (
            int(row[f]) for f in ("late_payments", "october_payments", "april_payments")
        )
        assert int(row["total_renewals"]) == october + april + late
        assert int(row["total_payments"]) == (
            int(row["new_payments"]) + int(row["total_renewals"]) + int(row["charter_payments"])
        )
    summary = next(r for r in export(ReportType.DISTRICT_SUMMARY).rows if r["district"] == "44")
    for field in ("new_payments", "late_payments", "october_payments", "april_payments"):
        assert int(summary[field]) == sum(int(row[field]) for row in district.rows)
    assert int(summary["total_payments"]) == sum(int(r["total_payments"]) for r in district.rows)
    clubs = export(ReportType.CLUB_PERFORMANCE, district="44").rows
    paid = sum(1 for row in clubs if row["club_status"] in ("Active", "Low"))
    assert int(summary["paid_clubs"]) == paid
    for code, field in (("D", "distinguished_clubs"), ("P", "presidents_distinguished_clubs")):
        assert int(summary[field]) == sum(1 for row in clubs if row["distinguished_status"] == code)


def test_division_rows_repeat_consistent_area_figures():
    rows = export(ReportType.DIVISION_PERFORMANCE, district="61").rows
    by_area: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_area.setdefault((row["division"], row["area"]), []).append(row)
    for area_rows in by_area.values():
        figures = {(row["area_club_base"], row["area_paid_clubs"]) for row in area_rows}
        assert len(figures) == 1
        assert int(area_rows[0]["area_paid_clubs"]) <= len(area_rows)


CLUB_STATUSES = {"Active", "Low", "Suspended", "Ineligible"}


@settings(max_examples=100, deadline=None)
@given(
    district=st.sampled_from(["2", "21", "44", "61", "101", "F", "U"]),
    day=st.dates(min_value=date(2017, 7, 2), max_value=date(2026, 6, 30)),
)
def test_club_values_stay_within_the_dashboard_domains(district, day):
    month_end = date(day.year + day.month // 12, day.month % 12 + 1, 1) - timedelta(days=1)
    result = export(ReportType.CLUB_PERFORMANCE, district=district, month_end=month_end, as_of=day)
    if CALENDAR.data_month_of(day) != day.replace(day=1) or (district == "101" and day.year < 2016):
        assert result.rows == ()
        return
    assert 20 <= len(result.rows) <= 140
    codes = {"", "D", "S", "P", "M"} if (day.year, day.month) >= (2025, 7) else {"", "D", "S", "P"}
    numbers = [row["club_number"] for row in result.rows]
    assert len(set(numbers)) == len(numbers)
    for row in result.rows:
        assert row["club_status"] in CLUB_STATUSES
        assert row["distinguished_status"] in codes
        assert 0 <= int(row["goals_met"]) <= 10
        assert len(row["club_number"]) == 8 and row["club_number"].isdigit()
        assert (row["division"], row["area"]) == ("0D", "0A") or (
            row["division"] in "ABCDEFGHIJKLMNOPQRSTUVWX" and len(row["area"]) == 2
        )
        if row["club_status"] == "Suspended":
            assert row["active_members"] == "0"
        if "net_growth" in row:
            assert int(row["net_growth"]) == int(row["active_members"]) - int(
                row["membership_base"]
            )


def test_smedley_distinguished_appears_only_from_2025_2026():
    june_2025 = export(
        ReportType.DISTRICT_SUMMARY, month_end=date(2025, 6, 30), as_of=date(2025, 7, 20)
    )
    june_2026 = export(
        ReportType.DISTRICT_SUMMARY, month_end=date(2026, 6, 30), as_of=date(2026, 7, 29)
    )
    assert "smedley_distinguished_clubs" not in june_2025.rows[0]
    assert sum(int(row["smedley_distinguished_clubs"]) for row in june_2026.rows) > 0
    assert sum(int(row["total_distinguished_clubs"]) for row in june_2026.rows) > 1000


def test_payments_and_awards_only_grow_through_the_year_and_its_closing_periods():
    as_ofs = [date(2024, 7, 25), date(2024, 9, 30), date(2024, 12, 20), date(2024, 12, 31),
              date(2025, 1, 4), date(2025, 1, 8), date(2025, 1, 9), date(2025, 3, 1),
              date(2025, 6, 30), date(2025, 7, 20)]  # fmt: skip
    totals = []
    for as_of in as_ofs:
        data_month = CALENDAR.data_month_of(as_of)
        month_end = date(data_month.year + data_month.month // 12, data_month.month % 12 + 1, 1)
        result = export(
            ReportType.DISTRICT_PERFORMANCE, month_end=month_end - timedelta(days=1), as_of=as_of
        )
        assert result.rows, as_of
        totals.append(sum(int(row["total_payments"]) for row in result.rows))
    assert totals == sorted(totals)
    assert totals[0] < totals[-1]


# --- CSV bytes ----------------------------------------------------------------------------------
def test_every_line_ends_in_crlf_every_cell_is_quoted_and_the_footer_is_bare():
    body = render_export(export(ReportType.CLUB_PERFORMANCE))
    lines = lines_of(body)
    assert lines[0] == ",".join(f'"{cell}"' for cell in CLUB_PERFORMANCE_2020)
    assert lines[-1] == "Month of Mar, As of 03/14/2025"
    assert b"\n" not in body.replace(b"\r\n", b"")
    for line in lines[1:-1]:
        assert line.startswith('"') and line.endswith('"')
        cells = next(csv.reader([line]))
        assert len(cells) == len(CLUB_PERFORMANCE_2020)
        assert line.count('","') >= len(cells) - 1


@pytest.mark.parametrize(
    ("month_end", "as_of", "club_header", "summary_header"),
    [
        (date(2019, 3, 31), date(2019, 3, 15), CLUB_PERFORMANCE_LEGACY, DISTRICT_SUMMARY_LEGACY),
        (date(2024, 12, 31), date(2025, 1, 4), CLUB_PERFORMANCE_2020, DISTRICT_SUMMARY_LEGACY),
        (date(2025, 9, 30), date(2025, 9, 22), CLUB_PERFORMANCE_2025, DISTRICT_SUMMARY_2025),
    ],
)
def test_headers_follow_the_eras_of_the_data_month(month_end, as_of, club_header, summary_header):
    assert (
        export(ReportType.CLUB_PERFORMANCE, month_end=month_end, as_of=as_of).header == club_header
    )
    assert export(ReportType.DISTRICT_SUMMARY, month_end=month_end, as_of=as_of).header == (
        summary_header
    )


def test_pre_2020_club_rows_end_with_a_comma_for_the_empty_trailing_column():
    lines = lines_of(
        render_export(
            export(
                ReportType.CLUB_PERFORMANCE, month_end=date(2019, 3, 31), as_of=date(2019, 3, 15)
            )
        )
    )
    assert lines[0].endswith('"Club Distinguished Status",')
    assert all(line.endswith(",") for line in lines[1:-1])


@pytest.mark.parametrize(
    ("month_end", "as_of"),
    [
        (date(2019, 3, 31), date(2019, 3, 15)),
        (date(2024, 12, 31), date(2025, 1, 4)),
        (date(2025, 9, 30), date(2025, 9, 22)),
        (date(2026, 9, 30), date(2026, 9, 22)),
    ],
)
@pytest.mark.parametrize("report", list(ReportType))
def test_the_data_layer_parses_back_exactly_what_the_simulator_renders(report, month_end, as_of):
    rendered = export(report, district="F", month_end=month_end, as_of=as_of)
    assert rendered.rows
    assert parse_export(render_export(rendered)) == rendered


def test_names_keep_their_quirks_through_quoting():
    names = {
        row["club_name"]
        for district in ("2", "21", "44", "61")
        for row in export(ReportType.CLUB_PERFORMANCE, district=district).rows
    }
    assert any("'" in name for name in names)
    assert any("&" in name for name in names)
    assert any("#" in name for name in names)
    assert any("," in name for name in names)
    assert any('"' in name for name in names)


# --- The site over HTTP -------------------------------------------------------------------------
def test_same_url_twice_gives_the_same_bytes(simulator):
    url = simulator.export_url(club_token("21", "3/31/2025", "3/14/2025"), program_year="2024-2025")
    first, second = get(url), get(url)
    assert first.status_code == 200
    assert first.content == second.content
    assert first.content == render_export(export(ReportType.CLUB_PERFORMANCE))


def test_closing_period_as_of_serves_the_previous_month(simulator):
    url = simulator.export_url(club_token("21", "12/31/2024", "1/4/2025"), program_year="2024-2025")
    answer = get(url)
    assert answer.status_code == 200
    assert lines_of(answer.content)[-1] == "Month of Dec, As of 01/04/2025"
    assert len(data_rows(answer.content)) > 20


@pytest.mark.parametrize(
    ("token", "footer"),
    [
        # The next month has no data while the previous one is closing (Dec closes 1/8/2025).
        (club_token("21", "1/31/2025", "1/4/2025"), "Month of Jan, As of 01/04/2025"),
        # An as-of before the data month.
        (club_token("21", "3/31/2025", "2/20/2025"), "Month of Mar, As of 02/20/2025"),
        # A month end from the month before, with a normal daily as-of.
        (club_token("21", "2/28/2025", "3/20/2025"), "Month of Feb, As of 03/20/2025"),
        # A district that does not exist that year.
        (club_token("999", "3/31/2025", "3/14/2025"), "Month of Mar, As of 03/14/2025"),
        # The program year field disagrees with the data month.
        (club_token("21", "6/30/2025", "7/20/2025", "2025-2026"), "Month of Jun, As of 07/20/2025"),
    ],
)
def test_no_data_is_a_header_only_200(simulator, token, footer):
    answer = get(simulator.export_url(token, program_year="2024-2025"))
    assert answer.status_code == 200
    lines = lines_of(answer.content)
    assert lines[0].startswith('"District","Division","Area","Club Number"')
    assert lines[1:] == [footer]
    assert 400 < len(answer.content) < 600


def test_as_of_from_today_on_is_header_only(simulator):
    simulator.set_today(date(2025, 3, 14))
    token = club_token("21", "3/31/2025", "3/14/2025")
    assert len(lines_of(get(simulator.export_url(token)).content)) == 2
    yesterday = club_token("21", "3/31/2025", "3/13/2025")
    assert len(lines_of(get(simulator.export_url(yesterday)).content)) > 2


def test_unpublished_program_year_redirects_to_the_error_page(simulator):
    simulator.set_today(TODAY)
    token = "districtsummary~7/31/2027~7/20/2027~2027-2028"
    answer = get(simulator.export_url(token, program_year="2027-2028"))
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/error.aspx?aspxerrorpath=/2027-2028/export.aspx"
    followed = requests.get(simulator.export_url(token, program_year="2027-2028"), timeout=10)
    assert followed.status_code == 200
    assert followed.content.lstrip().startswith(b"<")


def test_live_year_fails_on_its_archive_path_and_is_served_at_the_root(simulator):
    simulator.set_today(TODAY)
    token = club_token("21", "9/30/2026", "9/22/2026", "2026-2027")
    archive = get(simulator.export_url(token, program_year="2026-2027"))
    assert archive.status_code == 500
    assert b"URL Rewrite Module Error." in archive.content
    root = get(simulator.export_url(token))
    assert root.status_code == 200
    assert lines_of(root.content)[-1] == "Month of Sep, As of 09/22/2026"
    assert lines_of(root.content)[0].startswith(
        '"District","Division","Area","Club Number","Club Name","Club Status","CSP"'
    )
    assert len(data_rows(root.content)) > 20


def test_root_ignores_the_program_year_field_and_has_no_past_years(simulator):
    simulator.set_today(TODAY)
    wrong_year = club_token("21", "9/30/2026", "9/22/2026", "1999-2000")
    assert (
        get(simulator.export_url(wrong_year)).content
        == get(
            simulator.export_url(club_token("21", "9/30/2026", "9/22/2026", "2026-2027"))
        ).content
    )
    past = get(simulator.export_url(club_token("21", "3/31/2025", "3/14/2025")))
    assert past.status_code == 200
    assert len(lines_of(past.content)) == 2


def test_empty_month_end_returns_the_years_last_file_for_every_date(simulator):
    simulator.set_today(TODAY)
    bodies = {
        get(
            simulator.export_url(f"clubperformance~21~~{as_of}~2024-2025", program_year="2024-2025")
        ).content
        for as_of in ("8/15/2024", "1/4/2025", "3/14/2025")
    }
    assert len(bodies) == 1
    body = bodies.pop()
    assert lines_of(body)[-1] == "Month of Jun, As of 09/23/2026"
    final = DASHBOARD.final_export(
        report=ReportType.CLUB_PERFORMANCE, district_id="21", program_year="2024-2025"
    )
    assert data_rows(body) == data_rows(render_export(final))


def test_token_parsing_is_the_sites_own():
    token = parse_token("districtperformance~02~12/31/2024~1/4/2025~2024-2025")
    assert (token.report, token.district_id) == (ReportType.DISTRICT_PERFORMANCE, "02")
    assert (token.month_end, token.as_of) == (date(2024, 12, 31), date(2025, 1, 4))
    assert parse_token("districtsummary~~~2024-2025").month_end is None
    for bad in ("nosuchreport~1/1/2025~1/2/2025~2024-2025", "districtsummary~1/1/2025~2024-2025"):
        with pytest.raises(ValueError):
            parse_token(bad)


def test_malformed_token_answers_an_html_error_page_with_200(simulator):
    answer = get(f"{simulator.base_url}/2024-2025/export.aspx?type=CSV&report=bogus~1~2")
    assert answer.status_code == 200
    assert answer.content.lstrip().startswith(b"<")


# --- Faults -------------------------------------------------------------------------------------
@pytest.fixture
def club_url(simulator):
    return simulator.export_url(
        club_token("21", "3/31/2025", "3/14/2025"), program_year="2024-2025"
    )


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_answers_the_error_status_exactly_n_times(simulator, club_url, status):
    simulator.set_faults(fail_next=2, error_status=status)
    assert [get(club_url).status_code for _ in range(4)] == [status, status, 200, 200]


def test_error_rate_fails_that_share_of_requests(simulator, club_url):
    simulator.set_faults(error_rate=1.0)
    assert {get(club_url).status_code for _ in range(3)} == {500}
    simulator.set_faults(error_rate=0.5, seed=7)
    statuses = [get(club_url).status_code for _ in range(40)]
    assert 5 < statuses.count(500) < 35


def test_rate_limit_answers_429_with_retry_after(simulator, club_url):
    simulator.set_faults(rate_limit_next=1, retry_after=7)
    limited = get(club_url)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert get(club_url).status_code == 200


def test_latency_delays_every_answer(simulator, club_url):
    simulator.set_faults(latency_ms=200)
    started = time.monotonic()
    assert get(club_url).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_hang_outlasts_the_client_timeout_once(simulator, club_url):
    simulator.set_faults(hang_next=1, hang_seconds=5)
    with pytest.raises(requests.Timeout):
        get(club_url, timeout=0.3)
    assert get(club_url, timeout=5).status_code == 200
    hung, served = simulator.requests()
    assert (hung["fault"], hung["status"]) == ("hang", None)
    assert (served["fault"], served["status"]) == (None, 200)


def test_malformed_csv_is_rejected_by_the_parser(simulator, club_url):
    simulator.set_faults(malformed_next=1)
    answer = get(club_url)
    assert answer.status_code == 200
    with pytest.raises(ValidationFailed):
        parse_export(answer.content)


def test_truncated_csv_loses_its_end(simulator, club_url):
    whole = get(club_url).content
    simulator.set_faults(truncated_next=1)
    cut = get(club_url).content
    assert whole.startswith(cut) and len(cut) < len(whole)
    with pytest.raises(ValidationFailed):
        parse_export(cut)


def test_truncated_connection_breaks_off_mid_body(simulator, club_url):
    simulator.set_faults(truncated_next=1, truncate_mode="connection")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(club_url)
    assert get(club_url).status_code == 200


def test_html_error_page_with_status_200(simulator, club_url):
    simulator.set_faults(html_error_next=1)
    answer = get(club_url)
    assert answer.status_code == 200
    assert answer.content.lstrip().startswith(b"<")


def test_html_error_page_has_the_real_shape_blank_lines_first_and_about_8_kb(simulator, club_url):
    simulator.set_faults(html_error_next=1)
    answer = get(club_url)

    assert answer.content.startswith(b"\r\n\r\n<!DOCTYPE html>")
    assert 7_500 < len(answer.content) < 9_000
    assert b"<title>Runtime Error</title>" in answer.content
    with pytest.raises(ValidationFailed, match="HTML page"):
        parse_export(answer.content)


def test_no_data_dates_answer_header_only(simulator):
    simulator.set_faults(no_data_dates=["2025-03-14"])
    empty = get(
        simulator.export_url(club_token("21", "3/31/2025", "3/14/2025"), program_year="2024-2025")
    )
    other = get(
        simulator.export_url(club_token("21", "3/31/2025", "3/13/2025"), program_year="2024-2025")
    )
    assert lines_of(empty.content)[1:] == ["Month of Mar, As of 03/14/2025"]
    assert len(lines_of(other.content)) > 2


def test_unknown_districts_answer_header_only_and_failing_ones_html(simulator):
    simulator.set_faults(unknown_districts=["21"], failing_districts=["U"])
    unknown = get(
        simulator.export_url(club_token("21", "3/31/2025", "3/14/2025"), program_year="2024-2025")
    )
    failing = get(
        simulator.export_url(club_token("U", "3/31/2025", "3/14/2025"), program_year="2024-2025")
    )
    healthy = get(
        simulator.export_url(club_token("44", "3/31/2025", "3/14/2025"), program_year="2024-2025")
    )
    assert len(lines_of(unknown.content)) == 2
    assert failing.status_code == 200 and failing.content.lstrip().startswith(b"<")
    assert len(lines_of(healthy.content)) > 2
    assert [entry["fault"] for entry in simulator.requests()] == [
        "unknown_district",
        "failing_district",
        None,
    ]


def test_faults_can_be_scoped_to_districts(simulator):
    simulator.set_faults(error_rate=1.0, districts=["61"])

    def status(district: str) -> int:
        token = club_token(district, "3/31/2025", "3/14/2025")
        return get(simulator.export_url(token, program_year="2024-2025")).status_code

    assert [status("61"), status("061"), status("21")] == [500, 500, 200]


def test_next_n_faults_are_counted_exactly_under_concurrency(simulator, club_url):
    simulator.set_faults(fail_next=10)
    statuses: list[int] = []
    lock = threading.Lock()

    def fetch() -> None:
        with requests.Session() as session:
            for _ in range(4):
                status = session.get(club_url, timeout=10).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 40
    assert statuses.count(500) == 10 and statuses.count(200) == 30
    assert simulator.server.faults.snapshot()["remaining"]["error"] == 0


def test_fault_configuration_rejects_unknown_or_invalid_settings():
    with pytest.raises(ValueError, match="unknown fault"):
        FaultConfig.from_dict({"explode": True})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"error_rate": 2})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"error_status": 404})
    config = FaultConfig.from_assignments(["fail_next=3", "no_data_dates=2025-01-04,2025-01-05"])
    assert config.fail_next == 3
    assert config.no_data_dates == (date(2025, 1, 4), date(2025, 1, 5))


# --- Request log and control API -----------------------------------------------------------------
def test_request_log_records_each_request_with_its_outcome(simulator, club_url):
    simulator.set_faults(fail_next=1)
    before = time.time()
    get(club_url)
    get(club_url)
    entries = simulator.requests()
    assert [entry["status"] for entry in entries] == [500, 200]
    first = entries[0]
    assert first["report"] == "clubperformance" and first["district"] == "21"
    assert first["as_of"] == "2025-03-14" and first["month_end"] == "2025-03-31"
    assert first["method"] == "GET" and "export.aspx" in first["path"]
    assert first["fault"] == "error" and entries[1]["bytes"] > 1000
    assert before <= first["time"] <= entries[1]["time"] <= time.time()
    assert isinstance(first["time"], float)


def test_control_api_over_http(simulator, club_url):
    control = f"{simulator.base_url}/_simulator"
    get(club_url)
    get(club_url)
    log = requests.get(f"{control}/requests?since=1", timeout=5).json()
    assert log["next"] == 2 and [entry["index"] for entry in log["requests"]] == [1]
    assert requests.delete(f"{control}/requests", timeout=5).json() == {"cleared": 2}
    assert requests.get(f"{control}/requests", timeout=5).json()["requests"] == []

    configured = requests.post(
        f"{control}/faults", json={"fail_next": 1, "error_status": 503}, timeout=5
    )
    assert configured.status_code == 200
    assert configured.json()["remaining"]["error"] == 1
    assert get(club_url).status_code == 503
    bad = requests.post(f"{control}/faults", json={"nonsense": 1}, timeout=5)
    assert bad.status_code == 400 and "nonsense" in bad.json()["error"]
    deep = requests.post(f"{control}/faults", data="[" * 50_000, timeout=5)
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["error"]
    huge = requests.post(f"{control}/faults", data=b"{" + b" " * 70_000 + b"}", timeout=5)
    assert huge.status_code == 413 and "at most 65536 bytes" in huge.json()["error"]
    requests.post(f"{control}/faults", json={"error_rate": 1.0}, timeout=5)
    assert requests.delete(f"{control}/faults", timeout=5).json()["config"]["error_rate"] == 0
    assert get(club_url).status_code == 200

    clock = requests.post(f"{control}/clock", json={"today": "2026-09-23"}, timeout=5).json()
    assert clock["live_program_year"] == "2026-2027"
    assert requests.post(f"{control}/reset", timeout=5).json() == {"reset": True}
    assert simulator.requests() == []


def test_every_per_district_report_is_served(simulator):
    for report in PER_DISTRICT_REPORTS:
        token = f"{report}~F~3/31/2025~3/14/2025~2024-2025"
        answer = get(simulator.export_url(token, program_year="2024-2025"))
        assert answer.status_code == 200
        assert parse_export(answer.content).report == report


def test_per_district_export_answers_only_the_site_form_of_the_district_id(simulator):
    def rows(district: str) -> int:
        token = f"clubperformance~{district}~3/31/2025~3/14/2025~2024-2025"
        answer = requests.get(simulator.export_url(token, program_year="2024-2025"), timeout=10)
        return len(parse_export(answer.content).rows)

    assert rows("02") > 0
    assert rows("128") > 0 or rows("21") > 0
    assert rows("2") == 0
    assert rows("002") == 0
    assert [entry["district"] for entry in simulator.requests()][:1] == ["02"]


def test_months_after_the_registry_close_on_their_own_simulated_days():
    from simulator.periods import simulated_closing_day

    days = {m: CALENDAR.closing_date(date(2026, m, 1)) for m in (8, 9, 10, 11, 12)}

    assert all(day.month == (m % 12) + 1 and 3 <= day.day <= 18 for m, day in days.items())
    assert len({day.day for day in days.values()}) > 1  # not one fixed day for every month
    assert days[10].day == simulated_closing_day(date(2026, 10, 1))
    assert ClosingCalendar().closing_date(date(2026, 10, 1)) == days[10]  # deterministic
    assert 12 <= CALENDAR.closing_date(date(2027, 6, 1)).day <= 29
    assert CALENDAR.closing_date(date(2026, 7, 1)) == date(2026, 8, 10)  # the registry's


def test_previous_month_is_still_closing_until_its_simulated_closing_day(simulator):
    october_closes = CALENDAR.closing_date(date(2026, 10, 1))

    def served(today: date) -> tuple[int, str]:
        simulator.set_today(today)
        as_of = today - timedelta(days=1)
        token = f"districtsummary~11/30/2026~{as_of.month}/{as_of.day}/{as_of.year}~2026-2027"
        body = get(simulator.export_url(token)).content
        parsed = parse_export(body)
        return len(parsed.rows), f"{parsed.footer.data_month:%Y-%m}"

    assert served(october_closes + timedelta(days=1))[0] == 0  # November has no data yet
    rows, month = served(october_closes + timedelta(days=2))
    assert rows > 0 and month == "2026-11"
