from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from districts.dashboard import reports
from districts.dashboard.csv import Footer, ParsedExport, parse_export
from districts.dashboard.errors import ValidationFailed
from districts.dashboard.normalize import (
    logical_date_of,
    normalize_district,
    normalize_single,
    normalize_summary,
)
from districts.dashboard.reports import ReportType
from districts.dashboard.statistics import DistrictStatistics

DATA = Path(__file__).parents[1] / "data"
SEPTEMBER = date(2024, 9, 22)


def fixture(name: str) -> ParsedExport:
    return parse_export((DATA / name).read_bytes())


@pytest.fixture
def d21():
    return normalize_district(
        club_performance=fixture("clubperformance_d21_2024-09.csv"),
        district_performance=fixture("districtperformance_d21_2024-09.csv"),
        division_performance=fixture("divisionperformance_d21_2024-09.csv"),
        district_id="21",
        logical_date=SEPTEMBER,
    )


def test_period_comes_from_the_club_report_footer(d21):
    assert (d21.district_id, d21.logical_date, d21.as_of_date) == ("21", SEPTEMBER, SEPTEMBER)
    assert (d21.data_month, d21.program_year, d21.is_closing_period) == (
        "2024-09",
        "2024-2025",
        False,
    )
    assert d21.detail == "full"


def test_district_figures_from_the_fixture_reports(d21):
    assert d21.membership.active_members == 136
    assert d21.membership.base == 130
    assert d21.membership.net_growth == 6
    assert d21.payments.total_ytd == 109
    assert d21.payments.charter == 25
    assert (d21.clubs.total, d21.clubs.active, d21.clubs.low) == (8, 5, 1)
    assert (d21.clubs.suspended, d21.clubs.ineligible) == (1, 1)
    assert (d21.clubs.distinguished, d21.clubs.select_distinguished) == (1, 1)
    assert (d21.clubs.presidents_distinguished, d21.clubs.total_distinguished) == (1, 3)
    assert (d21.clubs.paid, d21.clubs.base) == (7, 8)
    assert d21.education.level_1s == 15


def test_totals_equal_sums_over_club_details(d21):
    clubs = d21.club_details

    assert d21.membership.active_members == sum(c.active_members or 0 for c in clubs)
    assert d21.membership.new_members == sum(c.new_members or 0 for c in clubs)
    assert d21.payments.total_ytd == sum(c.total_payments or 0 for c in clubs)
    assert d21.payments.october == sum(c.october_payments or 0 for c in clubs)


def test_clubs_missing_from_a_report_are_kept_with_a_warning(d21):
    numbers = [c.club_number for c in d21.club_details]

    assert "00008010" in numbers
    assert "00612345" in numbers
    assert d21.warnings == (
        "club 00008010 (Sixty Minutes Club   #8010) is missing from districtperformance",
        "club 00612345 (Speakers, Leaders and Friends) is missing from divisionperformance",
    )
    missing = next(c for c in d21.club_details if c.club_number == "00008010")
    assert missing.total_payments is None
    assert missing.active_members == 18


def test_club_details_join_the_three_reports(d21):
    club = next(c for c in d21.club_details if c.club_number == "05551234")

    assert club.name == 'The "Quote" Club'
    assert (club.status, club.active_members, club.distinguished_level) == ("Active", 31, "P")
    assert (club.charter_payments, club.total_payments) == (25, 31)
    assert club.charter_date == date(2024, 8, 15)
    suspended = next(c for c in d21.club_details if c.club_number == "07192108")
    assert suspended.suspend_date == date(2024, 9, 30)


def test_divisions_carry_their_areas_goals_and_visits(d21):
    division_a = d21.divisions[0]

    assert [d.division for d in d21.divisions] == ["A", "B", "C"]
    assert (division_a.club_base, division_a.paid_clubs, division_a.clubs) == (3, 3, 3)
    assert division_a.paid_club_goals == (3, 3, 4)
    assert [a.area for a in division_a.areas] == ["01", "02"]
    assert division_a.areas[0].nov_visits == 2
    assert d21.divisions[2].areas[0].distinguished_status == "D"


def test_statistics_survive_their_json_form(d21):
    assert DistrictStatistics.from_dict(d21.to_dict()) == d21


def test_closing_period_export_stands_for_the_month_end():
    stats = normalize_single(fixture("clubperformance_d21_2026-06_closing_bom.csv"))

    assert stats.logical_date == date(2026, 6, 30)
    assert stats.as_of_date == date(2026, 7, 29)
    assert stats.is_closing_period
    assert stats.program_year == "2025-2026"
    assert stats.clubs.smedley_distinguished == 1
    assert stats.payments.total_ytd is None


def test_legacy_levels_four_and_five_are_added_up():
    stats = normalize_single(fixture("clubperformance_d21_2019-06_legacy_lf.csv"))

    assert stats.education.level_1s == 5
    assert stats.clubs.suspended == 1


def test_logical_date_outside_the_data_month_is_rejected():
    with pytest.raises(ValidationFailed, match="outside the export's data month"):
        normalize_district(
            club_performance=fixture("clubperformance_d21_2024-09.csv"),
            district_performance=fixture("districtperformance_d21_2024-09.csv"),
            division_performance=fixture("divisionperformance_d21_2024-09.csv"),
            district_id="21",
            logical_date=date(2024, 10, 1),
        )


def test_reports_of_another_district_are_rejected():
    with pytest.raises(ValidationFailed, match="expected 42"):
        normalize_district(
            club_performance=fixture("clubperformance_d21_2024-09.csv"),
            district_performance=fixture("districtperformance_d21_2024-09.csv"),
            division_performance=fixture("divisionperformance_d21_2024-09.csv"),
            district_id="42",
            logical_date=SEPTEMBER,
        )


def test_reports_of_different_months_are_rejected():
    club = fixture("clubperformance_d21_2024-09.csv")
    august = replace(club.footer, data_month=date(2024, 8, 1))

    with pytest.raises(ValidationFailed, match="is for 2024-08"):
        normalize_district(
            club_performance=club,
            district_performance=replace(
                fixture("districtperformance_d21_2024-09.csv"), footer=august
            ),
            division_performance=fixture("divisionperformance_d21_2024-09.csv"),
            district_id="21",
            logical_date=SEPTEMBER,
        )


def test_swapped_reports_are_rejected():
    with pytest.raises(ValidationFailed, match="expected a clubperformance export"):
        normalize_district(
            club_performance=fixture("districtperformance_d21_2024-09.csv"),
            district_performance=fixture("clubperformance_d21_2024-09.csv"),
            division_performance=fixture("divisionperformance_d21_2024-09.csv"),
            district_id="21",
            logical_date=SEPTEMBER,
        )


def test_summary_gives_every_district_keyed_by_canonical_id():
    summary = fixture("districtsummary_2025-06_closing.csv")

    stats = normalize_summary(summary=summary, logical_date=logical_date_of(summary.footer))

    assert list(stats) == ["2", "F", "21", "130", "U"]
    two = stats["2"]
    assert (two.detail, two.region, two.logical_date) == ("summary", "01", date(2025, 6, 30))
    assert two.payments.total_ytd == 6283
    assert two.payments.growth_percent == -8.29
    assert (two.clubs.paid, two.clubs.base, two.clubs.active) == (192, 212, 198)
    assert two.clubs.smedley_distinguished is None
    assert stats["130"].payments.growth_percent is None
    assert stats["U"].region == "DNAR"
    assert two.club_details == ()


def test_summary_of_2025_26_publishes_smedley_counts():
    summary = fixture("districtsummary_2025-12_closing.csv")

    stats = normalize_summary(summary=summary, logical_date=date(2025, 12, 31))

    assert stats["21"].clubs.smedley_distinguished == 1
    assert stats["128"].clubs.total_distinguished == 1


def test_summary_with_conflicting_rows_for_one_district_is_rejected():
    summary = fixture("districtsummary_2025-12_closing.csv")
    conflicting = {**summary.rows[0], "district": "2", "new_payments": "1"}

    with pytest.raises(ValidationFailed, match="appears twice"):
        normalize_summary(
            summary=replace(summary, rows=(*summary.rows, conflicting)),
            logical_date=date(2025, 12, 31),
        )


def test_summary_with_a_repeated_identical_row_keeps_one_and_warns():
    summary = fixture("districtsummary_2025-12_closing.csv")

    stats = normalize_summary(
        summary=replace(summary, rows=(*summary.rows, summary.rows[1])),
        logical_date=date(2025, 12, 31),
    )

    assert len(stats) == 3
    assert stats["21"].warnings == ("district 21 appears twice (identical)",)


# --- property: totals are the sums over the club details ----------------------------------

counts = st.integers(min_value=0, max_value=60)


# A valid cell of each column kind, for the columns a test does not set.
_DEFAULTS = {reports.ColumnKind.FLAG: "N", reports.ColumnKind.LEVEL: ""}


def _row(header, values):
    return {
        field: values.get(field, _DEFAULTS.get(reports.FIELD_KINDS[field], "0"))
        for field in dict.fromkeys(reports.canonical_field(h) for h in header)
        if field
    }


@st.composite
def district_reports(draw):
    size = draw(st.integers(min_value=1, max_value=25))
    numbers = draw(st.lists(st.integers(1, 9_999_999), min_size=size, max_size=size, unique=True))
    club_rows, payment_rows, division_rows = [], [], []
    for number in numbers:
        common = {
            "district": "21",
            "division": draw(st.sampled_from("ABC")),
            "area": draw(st.sampled_from(["01", "02"])),
            "club_name": f"Club {number}",
        }
        level = draw(st.sampled_from(["", "D", "S", "P", "M"]))
        # Which of the three reports list the club: at least one, often all.
        in_club, in_payments, in_divisions = draw(
            st.tuples(*[st.integers(0, 4).map(bool)] * 3).filter(any)
        )
        if in_club:
            club_rows.append(
                _row(
                    reports.CLUB_PERFORMANCE_2025,
                    {
                        **common,
                        "club_number": f"{number:08d}",
                        "club_status": draw(st.sampled_from(["Active", "Low", "Suspended"])),
                        "active_members": str(draw(counts)),
                        "membership_base": str(draw(counts)),
                        "new_members": str(draw(counts)),
                        "level_1s": str(draw(counts)),
                        "distinguished_status": level,
                    },
                )
            )
        if in_payments:
            payment_rows.append(
                _row(
                    reports.DISTRICT_PERFORMANCE,
                    {
                        **common,
                        "club_number": str(number),
                        "new_payments": str(draw(counts)),
                        "october_payments": str(draw(counts)),
                        "total_payments": str(draw(counts)),
                        "distinguished_status": level,
                        "charter_suspend_date": "",
                    },
                )
            )
        if in_divisions:
            division_rows.append(
                _row(
                    reports.DIVISION_PERFORMANCE,
                    {
                        **common,
                        "club_number": f"{number:08d}",
                        "distinguished_status": level,
                        "distinguished_area": "",
                        "distinguished_division": "",
                        "charter_suspend_date": "",
                    },
                )
            )
    footer = Footer(data_month=date(2025, 9, 1), as_of=date(2025, 9, 14))

    def export(report, header, rows):
        return ParsedExport(report=report, header=header, rows=tuple(rows), footer=footer)

    return (
        numbers,
        export(ReportType.CLUB_PERFORMANCE, reports.CLUB_PERFORMANCE_2025, club_rows),
        export(ReportType.DISTRICT_PERFORMANCE, reports.DISTRICT_PERFORMANCE, payment_rows),
        export(ReportType.DIVISION_PERFORMANCE, reports.DIVISION_PERFORMANCE, division_rows),
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(generated=district_reports())
def test_normalized_totals_are_sums_over_club_details(generated):
    numbers, club, payments, divisions = generated

    stats = normalize_district(
        club_performance=club,
        district_performance=payments,
        division_performance=divisions,
        district_id="21",
        logical_date=date(2025, 9, 14),
    )
    details = stats.club_details

    assert sorted(int(c.club_number) for c in details) == sorted(numbers)
    assert stats.membership.active_members == sum(c.active_members or 0 for c in details)
    assert stats.membership.base == sum(c.membership_base or 0 for c in details)
    assert stats.membership.new_members == sum(c.new_members or 0 for c in details)
    assert stats.payments.new == sum(c.new_payments or 0 for c in details)
    assert stats.payments.total_ytd == sum(c.total_payments or 0 for c in details)
    assert stats.clubs.total == len(club.rows) == sum(c.status is not None for c in details)
    assert stats.clubs.total_distinguished == sum(c.distinguished_level != "" for c in details)
    assert stats.education.level_1s == sum(int(r["level_1s"]) for r in club.rows)
    assert sum(d.clubs for d in stats.divisions) == len(divisions.rows)
    missing = 3 * len(numbers) - len(club.rows) - len(payments.rows) - len(divisions.rows)
    assert len([w for w in stats.warnings if "is missing from" in w]) == missing
