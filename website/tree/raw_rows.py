"""The three per-district reports' rows as the site keeps them: one dict per data row, keyed by
the column headers exactly as published, every cell the text of the CSV. Read from our raw
archive, never rebuilt from the normalized figures: the site's division and area cards and its
club page read these columns directly."""

from __future__ import annotations

import csv
import io
from datetime import date

from districts.dashboard.reports import ReportType
from snapshots import store

# The site's field names of the three reports' rows in a district file.
REPORT_FIELDS = (
    ("divisionPerformance", ReportType.DIVISION_PERFORMANCE),
    ("clubPerformance", ReportType.CLUB_PERFORMANCE),
    ("districtPerformance", ReportType.DISTRICT_PERFORMANCE),
)
_FOOTER_PREFIX = "month of"


def rows_of_csv(data: bytes) -> list[dict[str, str | None]]:
    """The data rows of one archived export: blank lines before the header skipped, the
    footer (`Month of ...`) and blank lines dropped. A header cell left empty (old files end
    with one) names no field; a short row has None for its missing cells."""
    text = data.decode("utf-8-sig")
    records = [
        r
        for r in csv.reader(io.StringIO(text, newline=""))
        if r and (r[0].strip() or any(c.strip() for c in r))
    ]
    if not records:
        return []
    header, body = records[0], records[1:]
    named = [(i, name) for i, name in enumerate(header) if name.strip()]
    every_column_named = len(named) == len(header)
    rows = []
    for record in body:
        if record[0].strip().lower().startswith(_FOOTER_PREFIX):
            continue
        if every_column_named and len(record) == len(header):
            rows.append(dict(zip(header, record, strict=True)))
        elif len(record) >= len(header):
            rows.append({name: record[i] for i, name in named})
        else:
            rows.append({name: (record[i] if i < len(record) else None) for i, name in named})
    return rows


def raw_exports(*, as_of: date, district_id: str) -> dict[str, bytes | None]:
    """The archived bytes of a district's three reports collected `as_of`, by the site's field
    name; None for an export that was never archived."""
    return {
        field: store.read_raw_csv(as_of=as_of, report=report, district_id=district_id)
        for field, report in REPORT_FIELDS
    }


def raw_rows(exports: dict[str, bytes | None]) -> dict[str, list[dict[str, str | None]]]:
    """The site's three raw-row fields from `raw_exports`: no rows for a missing export."""
    return {field: rows_of_csv(data) if data is not None else [] for field, data in exports.items()}
