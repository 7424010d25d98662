"""A site district file's raw rows turned back into the three exports they were read from.

The site keeps each report's rows keyed by the published column headers, without the footer.
The footer is put back from what the site says of the date (its data month and the as-of
date it was collected at), so that the export meets the very acceptance a download meets:
header era, key columns, cell domains, the district of every row, and a footer that must
answer the request our closing-date rules make for the date.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from districts.dashboard.collect import Fetch, accept
from districts.dashboard.csv import MONTH_ABBREVIATIONS, Footer, ParsedExport
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import ExportRequest, request_for_as_of
from website.format.district import PerDistrictFile, RawRow

from .site_files import RefusedFile

# Where each report's raw rows sit in a site district file's `data`.
REPORT_FIELDS = {
    ReportType.CLUB_PERFORMANCE: "clubPerformance",
    ReportType.DIVISION_PERFORMANCE: "divisionPerformance",
    ReportType.DISTRICT_PERFORMANCE: "districtPerformance",
}


def render_export(rows: list[RawRow], footer: Footer, *, field: str) -> bytes:
    """The export as the dashboard writes it (DOMAIN.md section 3): the header from the rows'
    keys in their published order, every cell quoted, CRLF line ends, the footer last.

    Raises RefusedFile when there is no row (no header to rebuild) or a row whose columns
    differ from the first row's.
    """
    if not rows:
        raise RefusedFile(f"{field} has no rows: the export cannot be rebuilt")
    header = list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for number, row in enumerate(rows, start=1):
        if row.keys() != rows[0].keys():
            differing = sorted(row.keys() ^ rows[0].keys())
            raise RefusedFile(
                f"{field} row {number} has other columns than the first row: {differing[:3]}"
            )
        cells = [row[name] for name in header]
        # The site's collector keeps text: most rows need no conversion at all.
        if not all(type(cell) is str for cell in cells):
            cells = [_cell_text(cell) for cell in cells]
        writer.writerow(cells)
    month = MONTH_ABBREVIATIONS[footer.data_month.month - 1]
    out.write(f"Month of {month}, As of {footer.as_of:%m/%d/%Y}\r\n")
    return out.getvalue().encode("utf-8")


def _cell_text(value: str | int | float | None) -> str:
    """A cell as the CSV wrote it: the site's collector keeps text, ours too; a number a
    writer typed is written back as JavaScript prints it (`5`, `12.5`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


def site_fetch(district: PerDistrictFile, *, day: date, as_of: date) -> Fetch:
    """A `Fetch` serving the exports of one site district file for `day`, collected as of
    `as_of`, each accepted against the request it answers (`collect.accept`).

    The request is the one our rules make for `day`; when the site collected at another as-of
    that our closing dates still store under `day` (a closing date learnt later, say), the
    request of that as-of is used instead, as a re-normalization from the archive does.
    Raises RefusedFile (rows that make no export) and DashboardError (the export refused).
    """
    footer = Footer(data_month=day.replace(day=1), as_of=as_of)

    def fetch(request: ExportRequest) -> tuple[ParsedExport, bytes]:
        if request.as_of != as_of:
            replay = request_for_as_of(request.report, as_of, request.district_id)
            if replay.logical_date == request.logical_date:
                request = replay
        field = REPORT_FIELDS[request.report]
        data = render_export(getattr(district.data, field), footer, field=field)
        return accept(data, request), data

    return fetch
