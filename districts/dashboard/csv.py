"""Parsing and acceptance of dashboard CSV exports (DOMAIN.md sections 3-5).

CONTRACT (shared with the simulator, which renders what this module parses):
`parse_export(render_export(x)) == x` for every `ParsedExport` x the simulator renders.

Every input that is not a usable export raises `ValidationFailed` naming what is wrong (or
`DataUnavailable` from `accept_export` when the site answered without data); no other
exception leaves this module.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from districts import ids

from .domains import cells_getter, contract_columns, row_check
from .errors import DataUnavailable, ValidationFailed
from .reports import (
    CONTRACTS,
    KEY_FIELDS,
    PER_DISTRICT_REPORTS,
    Contract,
    ReportType,
    canonical_field,
    contract_of_header,
    contract_of_month,
)
from .statistics import DuplicateRow
from .values import club_key, row_district_id


@dataclass(frozen=True)
class Footer:
    """`Month of Sep, As of 09/22/2026`: the data month (first day) and the as-of date."""

    data_month: date  # always the 1st of the data month
    as_of: date

    @property
    def is_after_month(self) -> bool:
        """True when the as-of date lies after the data month: the file holds the month's final
        state (collected in its closing period, or an archived year's final file)."""
        return (self.as_of.year, self.as_of.month) > (self.data_month.year, self.data_month.month)

    @property
    def is_closing_period(self) -> bool:
        """True when the as-of date lies in the month right after the data month, where the
        site serves a closing month (DOMAIN.md section 1). A year's final file served later
        (a June fetched from the archive years on) is after its month, not in its closing
        period."""
        following = (self.data_month + timedelta(days=31)).replace(day=1)
        return (self.as_of.year, self.as_of.month) == (following.year, following.month)


@dataclass(frozen=True)
class ParsedExport:
    report: ReportType
    header: tuple[str, ...]  # header cells exactly as published (trailing empty cell kept)
    # One dict per data row: canonical field (reports.canonical_field) -> cell text as published
    # (unquoted, not otherwise altered). Columns with no canonical field are dropped.
    rows: tuple[dict[str, str], ...]
    footer: Footer
    # Clubs the file lists more than once with different cells; `rows` keeps the first of each.
    duplicates: tuple[DuplicateRow, ...] = ()

    @property
    def contract(self) -> Contract:
        """The contract of the era this header belongs to (the footer's month breaks ties)."""
        return contract_of_header(self.report, self.header, self.footer.data_month)

    @property
    def month_contract(self) -> Contract:
        """The contract of the era the footer's data month belongs to."""
        return contract_of_month(self.report, self.footer.data_month)

    @property
    def era_conflict(self) -> str | None:
        """Why the header era contradicts the footer's data month, or None when they agree.

        The site serves an archived year's final file with today's as-of when the month-end is
        left out of the token, so such a footer names the wrong month and program year.
        """
        header_era, month_era = self.contract, self.month_contract
        if header_era == month_era:
            return None
        return (
            f"the header is that of {header_era.label}, but the footer's data month "
            f"{self.footer.data_month:%Y-%m} belongs to {month_era.label}"
        )

    @property
    def unknown_columns(self) -> tuple[str, ...]:
        """Header cells no contract knows (accepted and ignored), as published."""
        return tuple(name for name in self.header if name.strip() and not canonical_field(name))


MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_FOOTER = re.compile(
    r"^Month of (?P<month>[A-Za-z]{3}), As of (?P<mm>\d{2})/(?P<dd>\d{2})/(?P<yyyy>\d{4})$"
)
# A header cell that identifies each report (lower-cased, whitespace collapsed).
_REPORT_MARKERS = (
    (ReportType.DISTRICT_SUMMARY, ("region", "total ytd payments")),
    (ReportType.CLUB_PERFORMANCE, ("club number",)),
    (ReportType.DISTRICT_PERFORMANCE, ("total to date",)),
    (ReportType.DIVISION_PERFORMANCE, ("area club base",)),
)
_FOOTER_PREFIX = "month of"
# Exports start with program year 2008-2009 (DOMAIN.md section 1).
FIRST_DATA_MONTH = date(2008, 7, 1)
# The site's as-of is yesterday; a few days of slack cover time zones and clock skew.
MAX_AS_OF_DAYS_AHEAD = 3


def parse_footer(line: str) -> Footer:
    """Parse `Month of Sep, As of 09/22/2026`.

    The data month's year is the as-of year, or the year before when the footer month is
    later in the calendar than the as-of month (a December closing seen in January).
    Raises ValidationFailed for anything else.
    """
    match = _FOOTER.match(line.strip())
    if not match:
        raise ValidationFailed(
            f"malformed footer {line.strip()[:80]!r}: expected 'Month of Mon, As of MM/DD/YYYY'"
        )
    months = [m.lower() for m in MONTH_ABBREVIATIONS]
    if match["month"].lower() not in months:
        raise ValidationFailed(f"unknown month {match['month']!r} in footer {line.strip()!r}")
    month = months.index(match["month"].lower()) + 1
    try:
        as_of = date(int(match["yyyy"]), int(match["mm"]), int(match["dd"]))
    except ValueError:
        raise ValidationFailed(f"invalid as-of date in footer {line.strip()!r}") from None
    year = as_of.year - 1 if month > as_of.month else as_of.year
    if year < 1:
        raise ValidationFailed(f"invalid data month in footer {line.strip()!r}")
    return Footer(data_month=date(year, month, 1), as_of=as_of)


def parse_export(data: bytes, *, today: date | None = None) -> ParsedExport:
    """Parse one export of any of the four reports, detected from its header.

    Tolerates a BOM, LF or CRLF, and blank lines before the header. The file must meet the
    contract of its header era (`reports.CONTRACTS`): every required column present (parsed by
    name, in any order) and every known cell inside its column's domain; unknown extra columns
    are accepted (`ParsedExport.unknown_columns`). Rows are de-duplicated by club number
    (leading zeros stripped) in the per-district reports: identical repeats are dropped, and of
    conflicting ones the first row in file order is kept and the others listed in
    `ParsedExport.duplicates`. A header-only file with a valid footer gives `rows=()`.

    Raises ValidationFailed naming the problem for anything that is not a valid export: HTML,
    undecodable bytes, no or unknown header, a missing required column (naming the report, the
    era and the column), a cell outside its domain (naming the line, club, column and value),
    a row with the wrong number of cells, broken quoting, a missing or malformed footer, data
    rows under a footer before July 2008 or more than a few days after `today` (default: the
    current date), data after the footer.
    """
    text = _decode(data)
    if text.lstrip().startswith("<"):
        raise ValidationFailed("the response is an HTML page, not a CSV export")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ValidationFailed(f"broken CSV: {exc}") from None

    position = 0
    while position < len(records) and _is_blank(records[position]):
        position += 1
    if position == len(records):
        raise ValidationFailed("the file is empty: no header")
    header = tuple(records[position])
    if _is_footer(header):
        raise ValidationFailed("no header: the file starts with its footer")
    report = _detect_report(header)
    fields = _column_fields(header, report)

    rows: list[_Row] = []
    footer: Footer | None = None
    names = tuple(field for _, field in fields)
    cells_of = cells_getter(tuple(index for index, _ in fields))
    keys = tuple(key for key in KEY_FIELDS[report] if key != "division")
    for line_number, record in enumerate(records[position + 1 :], start=position + 2):
        if _is_blank(record):
            continue
        if footer is not None:
            raise ValidationFailed(f"line {line_number}: data after the footer")
        if _is_footer(record):
            footer = parse_footer(",".join(_without_trailing_empty_cells(record)))
            continue
        if len(record) != len(header):
            raise ValidationFailed(
                f"line {line_number}: {len(record)} cells, the header has {len(header)} "
                "(truncated or malformed row)"
            )
        cells = cells_of(record)
        row = dict(zip(names, cells, strict=True))
        for key in keys:
            if not row[key].strip():
                raise ValidationFailed(f"line {line_number}: empty {key}")
        rows.append(_Row(line=line_number, cells=cells, values=row))
    if footer is None:
        raise ValidationFailed("missing footer 'Month of Mon, As of MM/DD/YYYY' (truncated file?)")
    if rows:
        # A header-only answer is "no data" whatever its footer says; data claimed for a month
        # before the exports begin or as of a day still to come is not a dashboard export.
        _check_footer_dates(footer, today or date.today())
    contract = contract_of_header(report, header, footer.data_month)
    _check_columns(contract, set(names), footer)
    _check_cells(contract, header, fields, rows)
    kept, duplicates = _deduplicated(report, rows)
    return ParsedExport(
        report=report,
        header=header,
        rows=tuple(row.values for row in kept),
        footer=footer,
        duplicates=duplicates,
    )


class _Row(NamedTuple):
    line: int  # 1-based line number in the file
    cells: tuple[str, ...]  # the cells of the row's fields, in the order of `values`
    values: dict[str, str]  # canonical field -> cell text


def _check_footer_dates(footer: Footer, today: date) -> None:
    if footer.data_month < FIRST_DATA_MONTH:
        raise ValidationFailed(
            f"footer data month {footer.data_month:%Y-%m} is before {FIRST_DATA_MONTH:%Y-%m}: "
            "the dashboard's exports start with program year 2008-2009"
        )
    if footer.as_of > today + timedelta(days=MAX_AS_OF_DAYS_AHEAD):
        raise ValidationFailed(
            f"footer as-of {footer.as_of.isoformat()} lies in the future (today is "
            f"{today.isoformat()}): not a dashboard export"
        )


def _check_columns(contract: Contract, published: set[str], footer: Footer) -> None:
    missing = contract.missing(published)
    if not missing:
        return
    message = f"{contract.label} lacks required column(s): {', '.join(missing)}"
    month_contract = contract_of_month(contract.report, footer.data_month)
    if month_contract != contract:
        message += (
            f"; the footer's data month {footer.data_month:%Y-%m} belongs to {month_contract.label}"
        )
    raise ValidationFailed(message)


def _check_cells(
    contract: Contract, header: tuple[str, ...], fields: list[tuple[int, str]], rows: list[_Row]
) -> None:
    """Refuse the first cell outside its column's domain, naming its line, club and column."""
    check = row_check(contract_columns(contract, tuple(field for _, field in fields)))
    for row in rows:
        outside = check.first_outside(row.cells)
        if outside is None:
            continue
        kind = check.columns[outside][0]
        subject = "district" if contract.report == ReportType.DISTRICT_SUMMARY else "club"
        key = "district" if subject == "district" else "club_number"
        raise ValidationFailed(
            f"{contract.report} line {row.line} ({subject} {row.values[key].strip()}): "
            f"{header[fields[outside][0]]} is {row.cells[outside]!r}, expected {kind}"
        )


def accept_export(
    data: bytes,
    *,
    report: ReportType,
    data_month: date,
    as_of: date,
    district_id: str | None = None,
) -> ParsedExport:
    """Parse a download and accept it only if it is what was asked for (DOMAIN.md section 4).

    The footer's month must equal `data_month` and its as-of must equal `as_of`; a request for
    June collected in July (the year-end closing) accepts any July-or-later as-of for June,
    since the site keeps serving the closed year's June. With `district_id`, every row must
    belong to that district.

    Raises ValidationFailed for a wrong report, footer or district; DataUnavailable when the
    file has no data rows, or when the site still serves the month before the one asked for
    (a closing period: the requested month has no data yet).
    """
    parsed = parse_export(data)
    if parsed.report != report:
        raise ValidationFailed(f"expected a {report} export, got {parsed.report}")
    if not parsed.rows:
        raise DataUnavailable(
            f"{report} has no data rows (header and footer only) for "
            f"{data_month:%Y-%m} as of {as_of.isoformat()}"
        )
    footer = parsed.footer
    wanted_month = data_month.replace(day=1)
    if footer.data_month != wanted_month:
        previous_month = date(
            wanted_month.year - (wanted_month.month == 1), (wanted_month.month - 2) % 12 + 1, 1
        )
        message = (
            f"footer data month {footer.data_month:%Y-%m} != requested {wanted_month:%Y-%m}"
            f" (footer as-of {footer.as_of.isoformat()})"
        )
        if footer.data_month == previous_month and footer.is_closing_period:
            raise DataUnavailable(f"{message}: the site is still closing {previous_month:%Y-%m}")
        raise ValidationFailed(message)
    if footer.as_of != as_of and not _is_year_end_closing(footer, as_of):
        raise ValidationFailed(
            f"footer as-of {footer.as_of.isoformat()} != requested as-of {as_of.isoformat()}"
        )
    if district_id is not None and report in PER_DISTRICT_REPORTS:
        wanted = ids.canonical_district_id(district_id)
        for row in parsed.rows:
            if row_district_id(row) != wanted:
                raise ValidationFailed(
                    f"row for district {row['district']!r} in the export of district {district_id}"
                )
    return parsed


def _is_year_end_closing(footer: Footer, requested_as_of: date) -> bool:
    # June closes in July and the archive keeps serving the closed year's June with later
    # as-of dates; the data is still June's (the month check already passed).
    return (
        footer.data_month.month == 6
        and requested_as_of.month == 7
        and requested_as_of.year == footer.data_month.year
        and footer.is_after_month
    )


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if "\x00" in text:
        raise ValidationFailed("binary data: the file contains NUL characters")
    return text.removeprefix("\ufeff")


def _is_blank(record: list[str]) -> bool:
    return not "".join(record).strip()


def _without_trailing_empty_cells(record: list[str]) -> list[str]:
    cells = list(record)
    while len(cells) > 1 and not cells[-1].strip():
        cells.pop()
    return cells


def _is_footer(record: list[str] | tuple[str, ...]) -> bool:
    return bool(record) and record[0].strip().lower().startswith(_FOOTER_PREFIX)


def _detect_report(header: tuple[str, ...]) -> ReportType:
    names = {" ".join(cell.strip().lower().split()) for cell in header}
    for report, markers in _REPORT_MARKERS:
        if any(marker in names for marker in markers):
            return report
    # Without its marker column a header that still looks like one report's is that report
    # missing a column, which its contract check then names.
    best = max(
        (contract for contracts in CONTRACTS.values() for contract in contracts),
        key=lambda contract: _overlap(names, contract.header),
    )
    if _overlap(names, best.header) >= 0.5:
        return best.report
    preview = ",".join(header)[:120]
    raise ValidationFailed(f"unknown header, not one of the four dashboard reports: {preview!r}")


def _overlap(names: set[str], header: tuple[str, ...]) -> float:
    published = {" ".join(cell.strip().lower().split()) for cell in header if cell}
    return len(names & published) / len(names | published) if names | published else 0.0


def _column_fields(header: tuple[str, ...], report: ReportType) -> list[tuple[int, str]]:
    fields: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, cell in enumerate(header):
        field = canonical_field(cell)
        # A field published twice keeps its first column; the raw archive keeps the rest.
        if field is not None and field not in seen:
            seen.add(field)
            fields.append((index, field))
    missing = [field for field in KEY_FIELDS[report] if field not in seen]
    if missing:
        contract = contract_of_header(report, header)
        names = ", ".join(contract.published_name(field) for field in missing)
        raise ValidationFailed(f"{contract.label} lacks key column(s): {names}")
    return fields


def _deduplicated(
    report: ReportType, rows: list[_Row]
) -> tuple[list[_Row], tuple[DuplicateRow, ...]]:
    # Old data lists some clubs twice (DOMAIN.md section 3); the dashboard lists a club once.
    if report not in PER_DISTRICT_REPORTS:
        return rows, ()
    first: dict[str, _Row] = {}
    conflicting: dict[str, list[int]] = {}
    for row in rows:
        key = club_key(row.values["club_number"])
        kept = first.setdefault(key, row)
        if kept is not row and _comparable(kept) != _comparable(row):
            conflicting.setdefault(key, []).append(row.line)
    duplicates = tuple(
        DuplicateRow(
            report=str(report),
            club_number=first[key].values["club_number"],
            kept_line=first[key].line,
            dropped_lines=tuple(lines),
            reason="same club number with different cells: the first row in file order is kept "
            "(the dashboard lists a club once)",
        )
        for key, lines in conflicting.items()
    )
    return list(first.values()), duplicates


def _comparable(row: _Row) -> dict[str, str]:
    # Rows that differ only in spacing or case say the same thing (the figures read from them
    # are equal), so they are identical duplicates, not conflicting ones.
    return {field: " ".join(value.split()).casefold() for field, value in row.values.items()}
