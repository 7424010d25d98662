"""A store holding what a collection leaves: for each date, the simulator's three reports of a
few districts archived as downloaded and normalized into full-detail district files, the
all-districts summary archived, and the date's manifest. The publishing tests build the site's
tree from it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from districts.dashboard.normalize import normalize_district
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import month_end, program_year_of
from simulator.exports import SimulatedDashboard
from simulator.rendering import render_export
from snapshots import store

PER_DISTRICT = (
    ReportType.DISTRICT_PERFORMANCE,
    ReportType.DIVISION_PERFORMANCE,
    ReportType.CLUB_PERFORMANCE,
)


def as_of_of(day: date, dashboard: SimulatedDashboard | None = None) -> date:
    """The day a logical date is collected as of: itself, or for a month's last day the
    month's closing date (the next month's day its final state is served at)."""
    if day != month_end(day):
        return day
    return (dashboard or SimulatedDashboard()).calendar.closing_date(day)


def _export(dashboard: SimulatedDashboard, report: ReportType, district_id: str | None, day: date):
    return dashboard.export(
        report=report,
        district_id=district_id,
        month_end=month_end(day),
        as_of=as_of_of(day, dashboard),
        program_year=program_year_of(day),
    )


def store_day(
    day: date,
    district_ids: Iterable[str],
    *,
    summary: bool = True,
    seed: int = 0,
    dashboard: SimulatedDashboard | None = None,
) -> None:
    """Store `day` for `district_ids` in full detail, and archive its all-districts summary
    when `summary`: a month's last day collected in its closing period, any other day as of
    itself (after the previous month's closing period, else the dashboard has no data).
    `dashboard` (of `seed`) may be given to share one over many dates."""
    dashboard = dashboard or SimulatedDashboard(seed=seed)
    as_of = as_of_of(day, dashboard)
    ids = list(district_ids)
    for district_id in ids:
        exports = {}
        for report in PER_DISTRICT:
            exports[report] = _export(dashboard, report, district_id, day)
            store.archive_raw_csv(
                as_of=as_of,
                report=report,
                district_id=district_id,
                data=render_export(exports[report]),
            )
        statistics = normalize_district(
            district_performance=exports[ReportType.DISTRICT_PERFORMANCE],
            division_performance=exports[ReportType.DIVISION_PERFORMANCE],
            club_performance=exports[ReportType.CLUB_PERFORMANCE],
            district_id=district_id,
            logical_date=day,
        )
        store.write_district(logical_date=day, statistics=statistics)
    if summary:
        data = render_export(_export(dashboard, ReportType.DISTRICT_SUMMARY, None, day))
        store.archive_raw_csv(
            as_of=as_of, report=ReportType.DISTRICT_SUMMARY, district_id=None, data=data
        )
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="per-district",
        scope=ids,
        job_id=None,
        district_errors={},
    )
