"""The simulated dashboard's data: which export a (report, district, month end, as-of) yields."""

from __future__ import annotations

from datetime import date

from districts.dashboard.csv import Footer, ParsedExport
from districts.dashboard.reports import (
    DISTRICT_PERFORMANCE,
    DIVISION_PERFORMANCE,
    ReportType,
    canonical_field,
    club_performance_header,
    district_summary_header,
)
from districts.ids import canonical_district_id

from . import generation
from .periods import ClosingCalendar, ProgramYear, first_of_month, last_of_month


def report_header(report: ReportType, data_month: date) -> tuple[str, ...]:
    """The header the site uses for a report in a data month (its era)."""
    match report:
        case ReportType.CLUB_PERFORMANCE:
            return club_performance_header(data_month.year, data_month.month)
        case ReportType.DISTRICT_SUMMARY:
            return district_summary_header(data_month.year, data_month.month)
        case ReportType.DISTRICT_PERFORMANCE:
            return DISTRICT_PERFORMANCE
        case ReportType.DIVISION_PERFORMANCE:
            return DIVISION_PERFORMANCE
    raise ValueError(f"unknown report {report!r}")


class SimulatedDashboard:
    """Deterministic dashboard data for every program year from 2008-2009 on.

    Pure data: it knows nothing about today, paths or faults (see `site.DashboardSite`).
    """

    def __init__(self, *, seed: int = 0, calendar: ClosingCalendar | None = None) -> None:
        self.seed = seed
        self.calendar = calendar or ClosingCalendar()

    def districts_for(self, program_year: str) -> list[str]:
        """District ids of a program year as URLs and per-district reports write them (`"2"`)."""
        return list(generation.district_ids(ProgramYear.parse(program_year).start))

    def has_district(self, program_year: ProgramYear, district_id: str) -> bool:
        return canonical_district_id(district_id) in generation.district_ids(program_year.start)

    def program_day(self, data_month: date, as_of: date) -> float:
        """How far into the program year the data served at `as_of` for `data_month` is.

        Normal days count from July 1; a closing-period as-of lies strictly between the month's
        last day and the first day of the next month, so figures never go backwards.
        """
        program_year = ProgramYear.of(data_month)
        month_end = last_of_month(data_month)
        if as_of <= month_end:
            return float((as_of - program_year.first_day).days)
        closing_days = (self.calendar.closing_date(data_month) - month_end).days
        into_closing = (as_of - month_end).days
        fraction = into_closing / (closing_days + 1)
        return (month_end - program_year.first_day).days + 0.5 * fraction

    def export(
        self,
        *,
        report: ReportType | str,
        district_id: str | None,
        month_end: date,
        as_of: date,
        program_year: str,
    ) -> ParsedExport:
        """What the archive path answers for this token, ignoring today and faults.

        The footer names the data month (that of `month_end`) and echoes `as_of`. `rows` is
        empty (a header-only file) unless the as-of date serves that data month, the data month
        lies in `program_year` (2008-2009 or later) and the district exists that year.
        Raises ValueError for an unknown report or a malformed program year.
        """
        report = ReportType(report)
        data_month = first_of_month(month_end)
        year = ProgramYear.parse(program_year)
        header = report_header(report, data_month)
        footer = Footer(data_month=data_month, as_of=as_of)
        servable = (
            year.start >= generation.FIRST_PROGRAM_YEAR
            and ProgramYear.of(data_month) == year
            and self.calendar.data_month_of(as_of) == data_month
        )
        district = None
        if report != ReportType.DISTRICT_SUMMARY:
            district = canonical_district_id(district_id or "")
            servable = servable and self.has_district(year, district)
        if not servable:
            return ParsedExport(report=report, header=header, rows=(), footer=footer)
        rows = generation.rows_for(
            report,
            seed=self.seed,
            start=year.start,
            district_id=district,
            day=self.program_day(data_month, as_of),
        )
        fields = [field for field in (canonical_field(name) for name in header) if field]
        published = tuple({field: str(row[field]) for field in fields} for row in rows)
        return ParsedExport(report=report, header=header, rows=published, footer=footer)

    def final_export(
        self, *, report: ReportType | str, district_id: str | None, program_year: str
    ) -> ParsedExport:
        """The year's last file: June's data at June's closing date."""
        year = ProgramYear.parse(program_year)
        june = date(year.start + 1, 6, 1)
        return self.export(
            report=report,
            district_id=district_id,
            month_end=last_of_month(june),
            as_of=self.calendar.closing_date(june),
            program_year=program_year,
        )
