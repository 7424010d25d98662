"""Bytes exactly as the dashboard publishes them (DOMAIN.md section 3)."""

from __future__ import annotations

from districts.dashboard.csv import Footer, ParsedExport
from districts.dashboard.reports import canonical_field

MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
CRLF = "\r\n"


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _line(header: tuple[str, ...], cells: list[str]) -> str:
    # The pre-2020 club report ends every line with a comma: its empty trailing column is bare.
    return ",".join(_cell(cell) if name else cell for name, cell in zip(header, cells, strict=True))


def render_footer(footer: Footer) -> str:
    """`Month of Dec, As of 01/04/2025`: unquoted, data month abbreviated, as-of zero-padded."""
    month = MONTH_ABBREVIATIONS[footer.data_month.month - 1]
    return f"Month of {month}, As of {footer.as_of:%m/%d/%Y}"


def render_export(export: ParsedExport) -> bytes:
    """The export as the site sends it: every cell quoted, CRLF after every line, footer last.

    Row cells are looked up by the canonical field of their header cell; a field the row lacks
    (or a header cell without a canonical field) is rendered empty.
    """
    fields = [canonical_field(name) for name in export.header]
    lines = [_line(export.header, list(export.header))]
    for row in export.rows:
        cells = [row.get(field, "") if field else "" for field in fields]
        lines.append(_line(export.header, cells))
    lines.append(render_footer(export.footer))
    return (CRLF.join(lines) + CRLF).encode("utf-8")
