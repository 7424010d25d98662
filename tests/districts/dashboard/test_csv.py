from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from districts.dashboard import reports
from districts.dashboard.csv import (
    Footer,
    ParsedExport,
    accept_export,
    parse_export,
    parse_footer,
)
from districts.dashboard.errors import DataUnavailable, ValidationFailed
from districts.dashboard.reports import ReportType
from districts.dashboard.values import (
    club_key,
    parse_charter_suspend,
    row_district_id,
    to_int,
    to_percent,
)
from simulator.rendering import render_export

DATA = Path(__file__).parents[1] / "data"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


CLUB_2024 = "clubperformance_d21_2024-09.csv"
VALID_FIXTURES = (
    CLUB_2024,
    "districtperformance_d21_2024-09.csv",
    "divisionperformance_d21_2024-09.csv",
    "clubperformance_d21_2026-06_closing_bom.csv",
    "clubperformance_d21_2019-06_legacy_lf.csv",
    "districtsummary_2025-06_closing.csv",
    "districtsummary_2025-12_closing.csv",
)


# --- parsing valid exports -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "report", "header", "rows", "footer"),
    [
        (
            CLUB_2024,
            ReportType.CLUB_PERFORMANCE,
            reports.CLUB_PERFORMANCE_2020,
            8,
            Footer(date(2024, 9, 1), date(2024, 9, 22)),
        ),
        (
            "districtperformance_d21_2024-09.csv",
            ReportType.DISTRICT_PERFORMANCE,
            reports.DISTRICT_PERFORMANCE,
            7,
            Footer(date(2024, 9, 1), date(2024, 9, 22)),
        ),
        (
            "divisionperformance_d21_2024-09.csv",
            ReportType.DIVISION_PERFORMANCE,
            reports.DIVISION_PERFORMANCE,
            7,
            Footer(date(2024, 9, 1), date(2024, 9, 22)),
        ),
        (
            "clubperformance_d21_2026-06_closing_bom.csv",
            ReportType.CLUB_PERFORMANCE,
            reports.CLUB_PERFORMANCE_2025,
            6,
            Footer(date(2026, 6, 1), date(2026, 7, 29)),
        ),
        (
            "clubperformance_d21_2019-06_legacy_lf.csv",
            ReportType.CLUB_PERFORMANCE,
            reports.CLUB_PERFORMANCE_LEGACY,
            3,
            Footer(date(2019, 6, 1), date(2019, 7, 16)),
        ),
        (
            "districtsummary_2025-06_closing.csv",
            ReportType.DISTRICT_SUMMARY,
            reports.DISTRICT_SUMMARY_LEGACY,
            5,
            Footer(date(2025, 6, 1), date(2025, 7, 20)),
        ),
        (
            "districtsummary_2025-12_closing.csv",
            ReportType.DISTRICT_SUMMARY,
            reports.DISTRICT_SUMMARY_2025,
            3,
            Footer(date(2025, 12, 1), date(2026, 1, 8)),
        ),
    ],
)
def test_fixture_exports_parse_to_report_header_rows_and_footer(name, report, header, rows, footer):
    parsed = parse_export(fixture(name))

    assert parsed.report == report
    assert parsed.header == header
    assert len(parsed.rows) == rows
    assert parsed.footer == footer


def test_club_rows_keep_published_text_under_canonical_fields():
    rows = parse_export(fixture(CLUB_2024)).rows
    by_number = {row["club_number"]: row for row in rows}

    assert rows[0]["club_number"] == "00000038"
    assert by_number["00008010"]["club_name"] == "Sixty Minutes Club   #8010"
    assert by_number["00612345"]["club_name"] == "Speakers, Leaders and Friends"
    assert by_number["05551234"]["club_name"] == 'The "Quote" Club'
    assert by_number["01454214"]["club_name"] == "Let's Talk Business"
    assert by_number["00003542"]["club_name"] == "Readers & Debaters Toastmasters Club"
    assert by_number["00000038"]["distinguished_status"] == ""
    assert by_number["00000038"]["level_4s_5s_dtm"] == "0"
    assert set(rows[0]) == {reports.canonical_field(h) for h in reports.CLUB_PERFORMANCE_2020}


def test_duplicate_club_rows_keep_the_first():
    numbers = [row["club_number"] for row in parse_export(fixture(CLUB_2024)).rows]

    assert numbers.count("00000038") == 1


def test_duplicates_are_matched_without_leading_zeros():
    data = fixture("districtperformance_d21_2024-09.csv")
    duplicate = b'"21","A","01","00000038","Copy","0","0","0","0","0","0","0","",""\r\n'
    data = data.replace(b"Month of", duplicate + b"Month of")

    rows = parse_export(data).rows

    assert [r["club_name"] for r in rows if club_key(r["club_number"]) == "38"] == [
        "First Canadian Toastmasters Club"
    ]


def test_district_and_division_reports_map_club_column_to_club_number():
    for name in ("districtperformance_d21_2024-09.csv", "divisionperformance_d21_2024-09.csv"):
        row = parse_export(fixture(name)).rows[0]
        assert club_key(row["club_number"]) == "38"


def test_legacy_header_keeps_its_empty_trailing_cell_and_drops_it_from_rows():
    parsed = parse_export(fixture("clubperformance_d21_2019-06_legacy_lf.csv"))

    assert parsed.header[-1] == ""
    assert "" not in parsed.rows[0]
    assert parsed.rows[0]["ccs"] == "3"


def test_summary_footer_does_not_become_a_district_and_values_stay_text():
    parsed = parse_export(fixture("districtsummary_2025-06_closing.csv"))
    districts = [row["district"] for row in parsed.rows]

    assert districts == ["02", "F", "21", "130", "U"]
    assert parsed.rows[3]["payment_growth_percent"] == "N/A"
    assert parsed.rows[0]["payment_growth_percent"] == "-8.29%"


def test_december_footer_with_january_as_of_belongs_to_the_previous_year():
    footer = parse_export(fixture("districtsummary_2025-12_closing.csv")).footer

    assert footer.data_month == date(2025, 12, 1)
    assert footer.is_closing_period


def test_header_only_file_parses_to_no_rows():
    parsed = parse_export(fixture("clubperformance_d99_header_only.csv"))

    assert parsed.rows == ()
    assert parsed.footer == Footer(date(2024, 9, 1), date(2024, 9, 22))


def test_crlf_and_lf_files_parse_alike():
    crlf = fixture(CLUB_2024)

    assert parse_export(crlf.replace(b"\r\n", b"\n")) == parse_export(crlf)


def test_headers_are_matched_case_insensitively():
    data = fixture("divisionperformance_d21_2024-09.csv").replace(
        b'"May visit award"', b'"May Visit Award"'
    )

    assert parse_export(data).rows[0]["may_visit_award"] == "0"


def test_thousands_separators_stay_in_the_cell_text():
    data = fixture("districtperformance_d21_2024-09.csv").replace(b'"19","",""', b'"1,019","",""')

    assert parse_export(data).rows[0]["total_payments"] == "1,019"


# --- invalid input: ValidationFailed naming the problem ------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (fixture("error_page.html"), "HTML"),
        (b"\r\n  <html><body>Object moved</body></html>", "HTML"),
        (fixture("clubperformance_d21_truncated.csv"), "broken CSV"),
        (fixture("wrong_header.csv"), "unknown header"),
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"Month of Sep, As of 09/22/2024\r\n", "starts with its footer"),
        (b"\xff\xfe\x00\x00garbage", "not UTF-8"),
        (fixture(CLUB_2024).rsplit(b"Month of", 1)[0], "missing footer"),
        (fixture(CLUB_2024).replace(b"As of 09/22/2024", b"As of 9/22/2024"), "malformed footer"),
        (fixture(CLUB_2024).replace(b"Month of Sep", b"Month of Sept"), "malformed footer"),
        (fixture(CLUB_2024).replace(b"Month of Sep", b"Month of Foo"), "unknown month"),
        (fixture(CLUB_2024).replace(b"As of 09/22/2024", b"As of 09/31/2024"), "invalid as-of"),
        (fixture(CLUB_2024) + b'"21","A","01","00000039"\r\n', "after the footer"),
        (fixture(CLUB_2024).replace(b',"P"\r\n', b"\r\n"), "22 cells, the header has 23"),
        (
            fixture(CLUB_2024).replace(b'"Division",', b'"Division Name",'),
            r"clubperformance \(2020-07..2025-06 era, 23 columns\) lacks key column\(s\): Division",
        ),
        (fixture(CLUB_2024).replace(b'"00000396"', b'""'), "empty club_number"),
        (fixture(CLUB_2024).replace(b'"Thunderbird', b'"Thunder"bird'), "broken CSV"),
    ],
)
def test_invalid_exports_raise_validation_failed_naming_the_problem(data, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_export(data)


@pytest.mark.parametrize(
    ("line", "footer"),
    [
        ("Month of Sep, As of 09/22/2026", Footer(date(2026, 9, 1), date(2026, 9, 22))),
        ("Month of Jun, As of 08/20/2026", Footer(date(2026, 6, 1), date(2026, 8, 20))),
        ("Month of Dec, As of 01/04/2025", Footer(date(2024, 12, 1), date(2025, 1, 4))),
        ("  Month of jun, As of 07/01/2026 ", Footer(date(2026, 6, 1), date(2026, 7, 1))),
    ],
)
def test_footer_gives_data_month_and_as_of(line, footer):
    assert parse_footer(line) == footer


# --- acceptance ----------------------------------------------------------------------------


def test_accepts_the_export_that_was_asked_for():
    parsed = accept_export(
        fixture(CLUB_2024),
        report=ReportType.CLUB_PERFORMANCE,
        data_month=date(2024, 9, 1),
        as_of=date(2024, 9, 22),
        district_id="21",
    )

    assert len(parsed.rows) == 8


def test_rejects_a_footer_as_of_other_than_requested():
    with pytest.raises(ValidationFailed, match=r"2024-09-22 != requested as-of 2024-09-23"):
        accept_export(
            fixture(CLUB_2024),
            report=ReportType.CLUB_PERFORMANCE,
            data_month=date(2024, 9, 1),
            as_of=date(2024, 9, 23),
        )


def test_rejects_a_footer_month_other_than_requested():
    with pytest.raises(ValidationFailed, match=r"2024-09 != requested 2024-06"):
        accept_export(
            fixture(CLUB_2024),
            report=ReportType.CLUB_PERFORMANCE,
            data_month=date(2024, 6, 1),
            as_of=date(2024, 9, 22),
        )


def test_previous_month_still_closing_is_data_unavailable():
    with pytest.raises(DataUnavailable, match="still closing 2025-12"):
        accept_export(
            fixture("districtsummary_2025-12_closing.csv"),
            report=ReportType.DISTRICT_SUMMARY,
            data_month=date(2026, 1, 1),
            as_of=date(2026, 1, 8),
        )


def test_year_end_june_is_accepted_with_another_july_as_of():
    parsed = accept_export(
        fixture("districtsummary_2025-06_closing.csv"),
        report=ReportType.DISTRICT_SUMMARY,
        data_month=date(2025, 6, 1),
        as_of=date(2025, 7, 22),
    )

    assert parsed.footer.as_of == date(2025, 7, 20)


def test_header_only_file_is_data_unavailable():
    with pytest.raises(DataUnavailable, match="no data rows"):
        accept_export(
            fixture("clubperformance_d99_header_only.csv"),
            report=ReportType.CLUB_PERFORMANCE,
            data_month=date(2024, 9, 1),
            as_of=date(2024, 9, 22),
        )


def test_rejects_another_report_than_requested():
    with pytest.raises(ValidationFailed, match="expected a districtperformance export"):
        accept_export(
            fixture(CLUB_2024),
            report=ReportType.DISTRICT_PERFORMANCE,
            data_month=date(2024, 9, 1),
            as_of=date(2024, 9, 22),
        )


def test_rejects_rows_of_another_district():
    with pytest.raises(ValidationFailed, match="district"):
        accept_export(
            fixture(CLUB_2024),
            report=ReportType.CLUB_PERFORMANCE,
            data_month=date(2024, 9, 1),
            as_of=date(2024, 9, 22),
            district_id="42",
        )


def test_html_download_is_rejected_by_acceptance():
    with pytest.raises(ValidationFailed, match="HTML"):
        accept_export(
            fixture("error_page.html"),
            report=ReportType.CLUB_PERFORMANCE,
            data_month=date(2024, 9, 1),
            as_of=date(2024, 9, 22),
        )


# --- value helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("16", 16), ("", None), (" 7 ", 7), ("1,234", 1234), ("-3", -3)]
)
def test_to_int(text, value):
    assert to_int(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("-8.29%", -8.29), ("N/A", None), ("", None), ("12%", 12.0), ("0.93%", 0.93)],
)
def test_to_percent(text, value):
    assert to_percent(text) == value


@pytest.mark.parametrize("bad", ["7/10", "abc", "1.5"])
def test_to_int_rejects_non_integers(bad):
    with pytest.raises(ValidationFailed, match="integer"):
        to_int(bad)


def test_to_percent_rejects_text():
    with pytest.raises(ValidationFailed, match="percentage"):
        to_percent("lots%")


@pytest.mark.parametrize(
    ("text", "canonical"), [("02", "2"), ("21", "21"), ("128", "128"), ("f", "F"), (" U ", "U")]
)
def test_a_rows_district_id_is_canonical(text, canonical):
    assert row_district_id({"district": text}) == canonical


@pytest.mark.parametrize("bad", ["", "AB", "2~1", "Month of Jun"])
def test_a_malformed_district_id_in_an_export_fails_validation(bad):
    with pytest.raises(ValidationFailed, match="malformed district id"):
        row_district_id({"district": bad})


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("", (None, None)),
        ("Charter 04/15/26", (date(2026, 4, 15), None)),
        ("Susp 09/30/25", (None, date(2025, 9, 30))),
        ("Charter 09/30/25 Susp 03/31/26", (date(2025, 9, 30), date(2026, 3, 31))),
    ],
)
def test_charter_and_suspend_dates(text, dates):
    assert parse_charter_suspend(text) == dates


@pytest.mark.parametrize("bad", ["Charter 13/45/26", "soon"])
def test_unreadable_charter_text_is_rejected(bad):
    with pytest.raises(ValidationFailed):
        parse_charter_suspend(bad)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_validation_failed(data):
    try:
        parsed = parse_export(data)
    except ValidationFailed as exc:
        assert exc.message
    else:
        assert isinstance(parsed, ParsedExport)


@st.composite
def mutated_exports(draw):
    data = bytearray(fixture(draw(st.sampled_from(VALID_FIXTURES))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        match draw(st.sampled_from(["delete", "insert", "replace", "truncate"])):
            case "delete":
                del data[position : position + draw(st.integers(1, 20))]
            case "insert":
                data[position:position] = draw(
                    st.sampled_from([b'"', b",", b"\r\n", b"\n", b"\x00", b"\xff", b"Month of "])
                )
            case "replace":
                if position < len(data):
                    data[position] = draw(st.integers(0, 255))
            case "truncate":
                del data[position:]
    return bytes(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_exports())
def test_mutated_exports_parse_or_raise_only_validation_failed(data):
    try:
        parsed = parse_export(data)
    except ValidationFailed:
        return
    assert parsed.report in ReportType
    assert all(len(row) <= len(parsed.header) for row in parsed.rows)


# --- parse(render(x)) == x -----------------------------------------------------------------

HEADERS = (
    reports.CLUB_PERFORMANCE_LEGACY,
    reports.CLUB_PERFORMANCE_2020,
    reports.CLUB_PERFORMANCE_2025,
    reports.DISTRICT_PERFORMANCE,
    reports.DIVISION_PERFORMANCE,
    reports.DISTRICT_SUMMARY_LEGACY,
    reports.DISTRICT_SUMMARY_2025,
)
REPORT_OF_HEADER = {
    reports.CLUB_PERFORMANCE_LEGACY: ReportType.CLUB_PERFORMANCE,
    reports.CLUB_PERFORMANCE_2020: ReportType.CLUB_PERFORMANCE,
    reports.CLUB_PERFORMANCE_2025: ReportType.CLUB_PERFORMANCE,
    reports.DISTRICT_PERFORMANCE: ReportType.DISTRICT_PERFORMANCE,
    reports.DIVISION_PERFORMANCE: ReportType.DIVISION_PERFORMANCE,
    reports.DISTRICT_SUMMARY_LEGACY: ReportType.DISTRICT_SUMMARY,
    reports.DISTRICT_SUMMARY_2025: ReportType.DISTRICT_SUMMARY,
}
cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
).filter(lambda text: not text.strip().lower().startswith("month of"))  # that is the footer


# Cells inside each column kind's domain (reports.FIELD_KINDS): what a valid export may hold.
counts_text = st.integers(0, 99_999).map(str)
CELLS_OF_KIND = {
    reports.ColumnKind.TEXT: cell_text,
    reports.ColumnKind.COUNT: counts_text,
    reports.ColumnKind.SIGNED: st.integers(-9_999, 9_999).map(str),
    reports.ColumnKind.GOALS: st.integers(0, 10).map(str),
    reports.ColumnKind.CLUB_STATUS: st.sampled_from(["Active", "Low", "Suspended", "Ineligible"]),
    reports.ColumnKind.LEVEL: st.sampled_from(["", "D", "S", "P", "M"]),
    reports.ColumnKind.FLAG: st.sampled_from(["", "Y", "N"]),
    reports.ColumnKind.PERCENT: st.sampled_from(["-8.29%", "0.00%", "12.5%", "N/A"]),
    reports.ColumnKind.CLUB_NUMBER: st.integers(1, 99_999_999).map(lambda n: f"{n:08d}"),
    reports.ColumnKind.DIVISION: st.sampled_from(["", "A", "F", "Z", "0D"]),
    reports.ColumnKind.AREA: st.sampled_from(["", "01", "42", "99", "0A"]),
}


@st.composite
def parsed_exports(draw):
    header = draw(st.sampled_from(HEADERS))
    report = REPORT_OF_HEADER[header]
    fields = [f for f in dict.fromkeys(reports.canonical_field(h) for h in header) if f]
    numbers = draw(st.lists(st.integers(1, 99_999_999), unique=True, max_size=8))
    rows = []
    for number in numbers:
        row = {field: draw(CELLS_OF_KIND[reports.FIELD_KINDS[field]]) for field in fields}
        row["district"] = draw(st.sampled_from(["02", "21", "F", "U", "128"]))
        if report != ReportType.DISTRICT_SUMMARY:
            row["club_number"] = f"{number:08d}"
        rows.append(row)
    # Exports with data exist from July 2008 up to today (the parser refuses other footers).
    data_month = draw(st.dates(min_value=date(2008, 7, 1), max_value=date(2026, 9, 1))).replace(
        day=1
    )
    as_of = data_month + timedelta(days=draw(st.integers(0, 60)))
    return ParsedExport(
        report=report,
        header=header,
        rows=tuple(rows),
        footer=Footer(data_month=data_month, as_of=as_of),
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(export=parsed_exports())
def test_parse_of_rendered_export_round_trips(export):
    assert parse_export(render_export(export)) == export
