import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from districts.dashboard.csv import ParsedExport, canonical_district_id, parse_export
from districts.dashboard.errors import DashboardError
from districts.dashboard.normalize import logical_date_of, normalize_single
from districts.dashboard.reports import ReportType
from districts.dashboard.statistics import DistrictStatistics


class Command(BaseCommand):
    help = (
        "Parse a saved dashboard export (any of the four reports, detected from its header) and "
        "print what it holds; exits 1 with the validation error for a file that is not an export."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of a downloaded export.aspx CSV")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON")

    def handle(self, *args, file, as_json: bool, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}", returncode=1) from exc
        try:
            parsed = parse_export(data)
            statistics = normalize_single(parsed) if parsed.rows else None
        except DashboardError as exc:
            raise CommandError(f"{file}: {exc}", returncode=1) from exc
        description = _describe(parsed, statistics)
        if as_json:
            self.stdout.write(json.dumps(description, indent=2))
        else:
            self.stdout.write(_text(description, statistics))


def _describe(
    parsed: ParsedExport, statistics: DistrictStatistics | dict[str, DistrictStatistics] | None
) -> dict:
    footer = parsed.footer
    district = None
    if parsed.report != ReportType.DISTRICT_SUMMARY and parsed.rows:
        district = canonical_district_id(parsed.rows[0]["district"])
    if isinstance(statistics, dict):
        normalized = [s.to_dict() for s in statistics.values()]
    else:
        normalized = statistics.to_dict() if statistics else None
    return {
        "report": str(parsed.report),
        "district": district,
        "data_month": f"{footer.data_month:%Y-%m}",
        "as_of": footer.as_of.isoformat(),
        "logical_date": logical_date_of(footer).isoformat(),
        "is_closing_period": footer.is_closing_period,
        "columns": len(parsed.header),
        "rows": len(parsed.rows),
        "statistics": normalized,
    }


def _text(description: dict, statistics) -> str:
    lines = [
        f"Report:          {description['report']}",
        f"District:        {description['district'] or '-'}",
        f"Data month:      {description['data_month']}",
        f"As of:           {description['as_of']}",
        f"Closing period:  {'yes' if description['is_closing_period'] else 'no'}",
        f"Logical date:    {description['logical_date']}",
        f"Rows:            {description['rows']} ({description['columns']} columns)",
    ]
    if statistics is None:
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
    lines += [f"Warning:         {w}" for w in s.warnings]
    return lines


def _n(value) -> str:
    return "-" if value is None else str(value)
