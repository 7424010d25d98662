import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backfill_project.command_options import one_value_options, shown
from districts.dashboard.csv import Footer, ParsedExport, parse_export
from districts.dashboard.errors import DashboardError
from districts.dashboard.normalize import logical_date_of, normalize_single
from districts.dashboard.reports import ReportType, contract_of_month
from districts.dashboard.statistics import DistrictStatistics
from districts.dashboard.urls import program_year_of
from districts.dashboard.values import row_district_id

_PROGRAM_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


class Command(BaseCommand):
    help = (
        "Parse a saved dashboard export (any of the four reports, detected from its header) and "
        "print what it holds; exits 1 with the validation error for a file that is not an export "
        "or breaks its report's contract. When the header era contradicts the footer's month "
        "(an archived year's final file served with today's as-of), it says so and prints no "
        "program year unless --program-year names it."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument("file", help="Path of a downloaded export.aspx CSV")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON")
        parser.add_argument(
            "--program-year",
            metavar="YYYY-YYYY",
            help="The program year the file belongs to, when the footer's month cannot tell",
        )

    def handle(self, *args, file, as_json: bool, program_year: str | None, **options):
        data = _read_bounded(file, settings.DASHBOARD_MAX_RESPONSE_BYTES)
        try:
            parsed = parse_export(data)
            parsed, period_note = _resolve_period(parsed, program_year)
            statistics = normalize_single(parsed) if parsed.rows and not period_note else None
        except DashboardError as exc:
            raise CommandError(f"{file}: {exc}", returncode=1) from exc
        description = _describe(parsed, statistics, period_note)
        if as_json:
            self.stdout.write(json.dumps(description, indent=2))
        else:
            self.stdout.write(_text(description, statistics))


def _read_bounded(file: str, limit: int) -> bytes:
    """The file's bytes, refusing one larger than the client would download.

    Reads at most `limit + 1` bytes, so a huge file never lands in memory.
    """
    try:
        with open(file, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read {file}: {exc.strerror}", returncode=1) from exc
    if len(data) > limit:
        size = Path(file).stat().st_size
        raise CommandError(
            f"{file}: {size:,} bytes is over the response size limit of {limit:,} bytes "
            "(DASHBOARD_MAX_RESPONSE_BYTES): the collector would refuse this download, so it "
            "is not inspected",
            returncode=1,
        )
    return data


def _resolve_period(parsed: ParsedExport, program_year: str | None) -> tuple[ParsedExport, str]:
    """The export with its footer's data month placed in the right program year.

    Without `program_year`, a header era that contradicts the footer's month leaves the period
    unknown: the returned note says why (empty when the period is known). With it, the footer's
    month is taken in that year, which must agree with the header era and the as-of. Raises
    CommandError (exit 1) for a malformed year or one the file contradicts.
    """
    if program_year is None:
        return parsed, parsed.era_conflict or ""
    match = _PROGRAM_YEAR.match(program_year)
    if not match or int(match[2]) != int(match[1]) + 1:
        raise CommandError(
            f"--program-year {shown(program_year)}: expected YYYY-YYYY such as 2024-2025"
        )
    month = parsed.footer.data_month.month
    year = int(match[1]) if month >= 7 else int(match[2])
    data_month = date(year, month, 1)
    if data_month > parsed.footer.as_of.replace(day=1):
        raise CommandError(
            f"--program-year {program_year} puts the data month at {data_month:%Y-%m}, after "
            f"the file's as-of {parsed.footer.as_of.isoformat()}",
            returncode=1,
        )
    era = contract_of_month(parsed.report, data_month)
    if era != parsed.contract:
        raise CommandError(
            f"--program-year {program_year} puts the data month at {data_month:%Y-%m}, which "
            f"belongs to {era.label}, but the header is that of {parsed.contract.label}",
            returncode=1,
        )
    footer = Footer(data_month=data_month, as_of=parsed.footer.as_of)
    return replace(parsed, footer=footer), ""


def _describe(
    parsed: ParsedExport,
    statistics: DistrictStatistics | dict[str, DistrictStatistics] | None,
    period_note: str,
) -> dict:
    footer = parsed.footer
    district = None
    if parsed.report != ReportType.DISTRICT_SUMMARY and parsed.rows:
        district = row_district_id(parsed.rows[0])
    if isinstance(statistics, dict):
        normalized = [s.to_dict() for s in statistics.values()]
    else:
        normalized = statistics.to_dict() if statistics else None
    known = not period_note
    return {
        "report": str(parsed.report),
        "district": district,
        "header_era": parsed.contract.label,
        "era_conflict": period_note or None,
        # A period the file contradicts is left out rather than printed wrong.
        "data_month": f"{footer.data_month:%Y-%m}" if known else None,
        "program_year": program_year_of(footer.data_month) if known else None,
        "as_of": footer.as_of.isoformat(),
        "logical_date": logical_date_of(footer).isoformat() if known else None,
        "is_closing_period": footer.is_closing_period if known else None,
        "columns": len(parsed.header),
        "rows": len(parsed.rows),
        "unknown_columns": list(parsed.unknown_columns),
        "duplicate_rows": [
            {
                "club_number": d.club_number,
                "kept_line": d.kept_line,
                "dropped_lines": list(d.dropped_lines),
                "reason": d.reason,
            }
            for d in parsed.duplicates
        ],
        "statistics": normalized,
    }


def _text(description: dict, statistics) -> str:
    closing = description["is_closing_period"]
    lines = [
        f"Report:          {description['report']}",
        f"District:        {description['district'] or '-'}",
        f"Header era:      {description['header_era']}",
        f"Data month:      {description['data_month'] or 'unknown (see the era conflict)'}",
        f"Program year:    {description['program_year'] or 'unknown (see the era conflict)'}",
        f"As of:           {description['as_of']}",
        f"Closing period:  {'-' if closing is None else 'yes' if closing else 'no'}",
        f"Logical date:    {description['logical_date'] or '-'}",
        f"Rows:            {description['rows']} ({description['columns']} columns)",
    ]
    if description["unknown_columns"]:
        lines.append(f"Ignored columns: {', '.join(description['unknown_columns'])}")
    lines += [
        f"Duplicate club:  {d['club_number']} on lines {d['kept_line']} (kept) and "
        f"{', '.join(map(str, d['dropped_lines']))} (dropped): {d['reason']}"
        for d in description["duplicate_rows"]
    ]
    if description["era_conflict"]:
        lines += [
            "",
            f"Era conflict:    {description['era_conflict']}.",
            "                 The footer's month cannot be trusted (the site serves an archived "
            "year's final file with today's as-of), so no period and no statistics are printed.",
            "                 Pass --program-year YYYY-YYYY to name the year the file belongs to.",
        ]
    elif statistics is None:
        lines.append("No data rows (header and footer only): the site has no data here.")
    elif isinstance(statistics, dict):
        lines.append("")
        lines.append(
            f"{'District':>8} {'Region':>6} {'Payments':>9} {'Base':>7} {'Paid clubs':>10} "
            f"{'Club base':>9} {'Distinguished':>13}"
        )
        for district_id, s in statistics.items():
            lines.append(
                f"{district_id:>8} {s.region or '-':>6} {_n(s.payments.total_ytd):>9} "
                f"{_n(s.payments.base):>7} {_n(s.clubs.paid):>10} {_n(s.clubs.base):>9} "
                f"{_n(s.clubs.total_distinguished):>13}"
            )
    else:
        lines += _district_lines(statistics)
    return "\n".join(lines)


def _district_lines(s: DistrictStatistics) -> list[str]:
    m, p, c = s.membership, s.payments, s.clubs
    lines = [
        "",
        f"Membership:      active {_n(m.active_members)}, base {_n(m.base)}, "
        f"net growth {_n(m.net_growth)}, new {_n(m.new_members)}",
        f"Payments:        new {_n(p.new)}, Oct {_n(p.october)}, Apr {_n(p.april)}, "
        f"late {_n(p.late)}, charter {_n(p.charter)}, total {_n(p.total_ytd)}",
        f"Clubs:           total {_n(c.total)} (active {_n(c.active)}, low {_n(c.low)}, "
        f"suspended {_n(c.suspended)}, ineligible {_n(c.ineligible)}), paid {_n(c.paid)}, "
        f"base {_n(c.base)}",
        f"Distinguished:   D {_n(c.distinguished)}, S {_n(c.select_distinguished)}, "
        f"P {_n(c.presidents_distinguished)}, M {_n(c.smedley_distinguished)}, "
        f"total {_n(c.total_distinguished)}",
    ]
    if s.education is not None:
        e = s.education
        lines.append(
            f"Education:       L1 {e.level_1s}, L2 {e.level_2s} (+{e.add_level_2s}), "
            f"L3 {e.level_3s}, L4/L5/DTM {e.level_4s_5s_dtm} (+{e.add_level_4s_5s_dtm})"
        )
    if s.divisions:
        lines.append(
            f"Divisions:       {len(s.divisions)} with {sum(len(d.areas) for d in s.divisions)} "
            "areas"
        )
    lines.append(f"Club details:    {len(s.club_details)}")
    # Ignored columns are listed above once; the rest of the warnings follow.
    lines += [f"Warning:         {w}" for w in s.warnings if "outside its contract" not in w]
    return lines


def _n(value) -> str:
    return "-" if value is None else str(value)
