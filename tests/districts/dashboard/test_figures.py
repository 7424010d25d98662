"""districts/dashboard/figures.py: one definition of each figure, whatever report it was read
from, used by the normalizer and the analytics (issue 17, section 1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from analytics import documents
from districts.dashboard import figures
from districts.dashboard.normalize import normalize_district, normalize_summary
from districts.dashboard.reports import ReportType
from districts.dashboard.statistics import ClubCounts, DistrictStatistics
from simulator.exports import SimulatedDashboard

DAY = date(2025, 6, 20)


def simulated(report: ReportType, district_id: str | None = None):
    return SimulatedDashboard().export(
        report=report,
        district_id=district_id,
        month_end=date(2025, 6, 30),
        as_of=DAY,
        program_year="2024-2025",
    )


def full(district_id: str) -> DistrictStatistics:
    return normalize_district(
        district_performance=simulated(ReportType.DISTRICT_PERFORMANCE, district_id),
        division_performance=simulated(ReportType.DIVISION_PERFORMANCE, district_id),
        club_performance=simulated(ReportType.CLUB_PERFORMANCE, district_id),
        district_id=district_id,
        logical_date=DAY,
    )


@pytest.fixture(scope="module")
def summary() -> dict[str, DistrictStatistics]:
    return normalize_summary(summary=simulated(ReportType.DISTRICT_SUMMARY), logical_date=DAY)


@pytest.mark.parametrize(
    ("district_id", "percent", "old_percent"),
    [("2", 16.48, 17.44), ("9", 19.70, 20.97), ("21", 20.00, 21.95), ("F", 10.53, 11.76)],
)
def test_a_figure_is_the_same_from_the_summary_and_from_the_district_reports(
    summary, district_id, percent, old_percent
):
    per_district, from_summary = full(district_id), summary[district_id]
    # The per-district file counts clubs by status; its active clubs are the ones not suspended.
    assert per_district.clubs.active < figures.active_clubs(per_district)
    assert figures.active_clubs(per_district) == figures.active_clubs(from_summary)
    total = per_district.clubs.total_distinguished
    assert round(total / per_district.clubs.active * 100, 2) == old_percent  # the old analytics
    for statistics in (per_district, from_summary):
        assert figures.distinguished_percent(statistics) == percent
        assert statistics.clubs.distinguished_percent == percent  # the district file's
        assert documents.distinguished_percent(statistics) == percent
        assert documents.series_point(statistics)["distinguishedClubs"]["percent"] == percent
    assert figures.club_growth_percent(per_district) == figures.club_growth_percent(from_summary)
    assert per_district.clubs.paid == from_summary.clubs.paid
    assert per_district.payments.total_ytd == from_summary.payments.total_ytd
    # No payment base in the per-district reports: no payment growth, never a made-up 0.
    assert figures.payment_growth_percent(per_district) is None
    assert figures.payment_growth_percent(from_summary) is not None


def test_the_district_2_example_counts(summary):
    clubs = full("2").clubs
    assert (clubs.total, clubs.active, clubs.low, clubs.ineligible, clubs.suspended) == (
        98,
        86,
        3,
        2,
        7,
    )
    assert (figures.active_clubs(full("2")), summary["2"].clubs.active) == (91, 91)
    point = documents.series_point(full("2"))
    assert (point["activeClubs"], point["clubsByStatus"]["active"]) == (91, 86)
    point = documents.series_point(summary["2"])
    assert point["activeClubs"] == 91
    assert set(point["clubsByStatus"].values()) == {None}  # the summary publishes no statuses


def test_a_published_percentage_that_disagrees_with_its_counts_is_a_warning():
    export = simulated(ReportType.DISTRICT_SUMMARY)
    rows = tuple(
        {**row, "distinguished_percent": "99.00%"} if row["district"] == "02" else row
        for row in export.rows
    )
    stats = normalize_summary(summary=replace(export, rows=rows), logical_date=DAY)
    assert stats["2"].clubs.distinguished_percent == 16.48
    assert any("distinguished_percent '99.00%'" in w for w in stats["2"].warnings)
    assert not stats["9"].warnings


def test_a_figure_without_its_counts_is_null_or_the_stored_one():
    bare = DistrictStatistics(
        district_id="2",
        logical_date=DAY,
        as_of_date=DAY,
        data_month="2025-06",
        program_year="2024-2025",
        is_closing_period=False,
        detail="full",
        clubs=ClubCounts(total_distinguished=3),
    )
    assert figures.active_clubs(bare) is None
    assert figures.distinguished_percent(bare) is None
    stored = replace(bare, clubs=ClubCounts(total_distinguished=3, distinguished_percent=12.5))
    assert figures.distinguished_percent(stored) == 12.5
    assert figures.percent(3, 0) is None and figures.growth_percent(5, None) is None
