"""How the simulated site answers a URL: paths, tokens, live and unpublished years.

The rules of DOMAIN.md sections 2 and 4 and DOMAIN-NOTES section f, as measured on the real
site: header-only 200 for no data, 302 to the error page for an unpublished program year, 500
"URL Rewrite Module Error." for the live year on its archive path (the root serves it), and the
year's last file whatever the date when a date slot of the token is empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from districts.dashboard.csv import ParsedExport
from districts.dashboard.reports import ReportType

from . import generation
from .exports import SimulatedDashboard
from .periods import ProgramYear, last_of_month
from .rendering import render_export

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

_ARCHIVE_PATH = re.compile(r"^/(?P<year>\d{4}-\d{4})/export\.aspx$", re.IGNORECASE)

# A server-side failure of the real site: an HTML page with status 200.
ERROR_PAGE = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>Runtime Error</title></head>\r\n<body>\r\n"
    b"<h1>Server Error in '/' Application.</h1>\r\n<h2><i>Runtime Error</i></h2>\r\n"
    b"<p>An application error occurred on the server.</p>\r\n</body>\r\n</html>\r\n"
)
REWRITE_ERROR_PAGE = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>500 - Internal server error.</title></head>\r\n"
    b"<body>\r\n<h1>HTTP Error 500.52 - URL Rewrite Module Error.</h1>\r\n"
    b"<p>URL Rewrite Module Error.</p>\r\n</body>\r\n</html>\r\n"
)
NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>404 - File or directory not found.</title>"
    b"</head>\r\n<body><h1>404 - File or directory not found.</h1></body>\r\n</html>\r\n"
)


def _object_moved(location: str) -> bytes:
    return (
        f'<html><head><title>Object moved</title></head><body>\r\n<h2>Object moved to <a href="'
        f'{location}">here</a>.</h2>\r\n</body></html>\r\n'
    ).encode()


@dataclass(frozen=True)
class ExportToken:
    """The `report` parameter: `{type}~{district}~{monthEnd}~{asOf}~{PY}` (no district for the
    summary). Empty date slots are None."""

    report: ReportType
    district_id: str | None
    month_end: date | None
    as_of: date | None
    program_year: str


def _token_date(text: str) -> date | None:
    if not text.strip():
        return None
    month, day, year = (int(part) for part in text.strip().split("/"))
    return date(year, month, day)


def parse_token(text: str) -> ExportToken:
    """Parse an export token; raises ValueError for an unknown report or malformed slot."""
    parts = text.split("~")
    report = ReportType(parts[0].strip().lower())
    expected = 4 if report == ReportType.DISTRICT_SUMMARY else 5
    if len(parts) != expected:
        raise ValueError(f"{report} token needs {expected} segments: {text!r}")
    district = None if report == ReportType.DISTRICT_SUMMARY else parts[1].strip()
    month_end, as_of, program_year = parts[-3], parts[-2], parts[-1].strip()
    return ExportToken(
        report=report,
        district_id=district,
        month_end=_token_date(month_end),
        as_of=_token_date(as_of),
        program_year=program_year,
    )


def _in_site_form(district_id: str | None) -> bool:
    """Whether a token's district id is spelled as the site spells it in its own URLs: numbers
    zero-padded to two digits as in the summary (`"02"`, `"21"`, `"128"`), letters as they are.

    What the real site answers to an unpadded `"2"` was never measured; the simulator answers
    it header-only, like an unknown district, so that a collector sending it is caught.
    """
    if district_id is None:
        return True
    canonical = generation.canonical_district_id(district_id)
    return district_id == generation.summary_district_id(canonical)


@dataclass(frozen=True)
class SiteResponse:
    """One answer of the site; `export` is the CSV served, if any (fault injection re-renders
    it), `token` the parsed request for the request log."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    token: ExportToken | None = None
    export: ParsedExport | None = None


def csv_response(export: ParsedExport, token: ExportToken | None) -> SiteResponse:
    return SiteResponse(
        status=200,
        body=render_export(export),
        content_type=CSV_CONTENT_TYPE,
        headers=(("Content-Disposition", f"attachment; filename={export.report.value}.csv"),),
        token=token,
        export=export,
    )


def html_response(status: int, body: bytes, token: ExportToken | None = None) -> SiteResponse:
    return SiteResponse(status=status, body=body, content_type=HTML_CONTENT_TYPE, token=token)


class DashboardSite:
    """The site's answers for a day `today` (None: the real current date)."""

    def __init__(self, *, dashboard: SimulatedDashboard, today: date | None = None) -> None:
        self.dashboard = dashboard
        self.today_override = today

    @property
    def today(self) -> date:
        return self.today_override or date.today()

    @property
    def live_program_year(self) -> ProgramYear:
        """The program year containing today: served only at the root path."""
        return ProgramYear.of(self.today)

    @property
    def latest_as_of(self) -> date:
        """The dashboard's data is as of the previous day."""
        return self.today - timedelta(days=1)

    def respond(self, path: str, params: Mapping[str, str]) -> SiteResponse:
        """The answer to `GET path?params` (params: first value of each query parameter).

        As-of dates from today on have no data yet (the site's data is as of yesterday).
        """
        lowered = path.lower()
        if lowered == "/export.aspx":
            return self._export(params, archive_year=None)
        match = _ARCHIVE_PATH.match(path)
        if match:
            year = ProgramYear.parse(match["year"])
            if year.start < generation.FIRST_PROGRAM_YEAR or year > self.live_program_year:
                location = f"/error.aspx?aspxerrorpath=/{match['year']}/export.aspx"
                return SiteResponse(
                    status=302,
                    body=_object_moved(location),
                    content_type=HTML_CONTENT_TYPE,
                    headers=(("Location", location),),
                )
            if year == self.live_program_year:
                return html_response(500, REWRITE_ERROR_PAGE)
            return self._export(params, archive_year=year)
        if lowered in ("/error.aspx", "/", "/default.aspx"):
            return html_response(200, ERROR_PAGE)
        return html_response(404, NOT_FOUND_PAGE)

    def _export(
        self, params: Mapping[str, str], *, archive_year: ProgramYear | None
    ) -> SiteResponse:
        try:
            if params.get("type", "").upper() != "CSV":
                raise ValueError("type must be CSV")
            token = parse_token(params.get("report", ""))
            if archive_year is not None and token.program_year != str(archive_year):
                ProgramYear.parse(token.program_year)
        except ValueError:
            return html_response(200, ERROR_PAGE)
        if archive_year is None:
            export = self._root_export(token)
        else:
            export = self._archive_export(token, archive_year)
        if not _in_site_form(token.district_id):
            export = replace(export, rows=())
        return csv_response(export, token)

    def _archive_export(self, token: ExportToken, year: ProgramYear) -> ParsedExport:
        if token.month_end is None or token.as_of is None:
            # The original project's worst bug: the same final file for every date.
            final = self.dashboard.final_export(
                report=token.report, district_id=token.district_id, program_year=str(year)
            )
            return replace(final, footer=replace(final.footer, as_of=self.today))
        export = self.dashboard.export(
            report=token.report,
            district_id=token.district_id,
            month_end=token.month_end,
            as_of=token.as_of,
            program_year=str(year),
        )
        if token.program_year != str(year) or token.as_of > self.latest_as_of:
            return replace(export, rows=())
        return export

    def _root_export(self, token: ExportToken) -> ParsedExport:
        # The root ignores the token's program year and serves only the live one.
        live = str(self.live_program_year)
        if token.month_end is None or token.as_of is None:
            as_of = self.latest_as_of
            month_end = last_of_month(self.dashboard.calendar.data_month_of(as_of))
        else:
            month_end, as_of = token.month_end, token.as_of
        export = self.dashboard.export(
            report=token.report,
            district_id=token.district_id,
            month_end=month_end,
            as_of=as_of,
            program_year=live,
        )
        if as_of > self.latest_as_of:
            return replace(export, rows=())
        return export
