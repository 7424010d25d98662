"""Export URLs of the dashboard and the request for a logical date (DOMAIN.md sections 1-2).

A request names the report, the district (as the site spells it), the data month and the as-of
date. Its token always carries the month end of the data month: an empty month end makes the
site answer the same latest file for every date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from districts.ids import DISTRICT_ID_PATTERN, InvalidDistrictId, site_district_id

from .closing import closing_date_for, closing_period_month
from .errors import ValidationFailed
from .reports import PER_DISTRICT_REPORTS, ReportType

# Exports work back to program year 2008-2009 (DOMAIN.md section 1).
EARLIEST_DATE = date(2008, 7, 1)

_PROGRAM_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_URL_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def program_year_of(d: date) -> str:
    """The program year (`2024-2025`, July to June) containing `d`; pass the data month."""
    start = d.year if d.month >= 7 else d.year - 1
    return f"{start}-{start + 1}"


def month_end(d: date) -> date:
    """The last day of the month containing `d`."""
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def format_url_date(d: date) -> str:
    """`M/D/YYYY` without padding, as the dashboard writes dates in tokens."""
    return f"{d.month}/{d.day}/{d.year}"


@dataclass(frozen=True)
class ExportRequest:
    """One export to download, and the logical date its data will be stored under.

    Raises ValidationFailed when the parts do not make a valid request.
    """

    report: ReportType
    district_id: str | None  # as the site spells it ("02", "21", "F"); None for the summary
    data_month: date  # first day of the data month
    as_of: date
    logical_date: date

    def __post_init__(self) -> None:
        if self.data_month.day != 1:
            raise ValidationFailed(f"data month {self.data_month} is not a month's first day")
        if self.data_month < EARLIEST_DATE:
            raise ValidationFailed(
                f"data month {self.data_month:%Y-%m} is before program year 2008-2009"
            )
        if self.as_of < self.data_month:
            raise ValidationFailed(f"as-of {self.as_of} precedes data month {self.data_month}")
        if self.report == ReportType.DISTRICT_SUMMARY:
            if self.district_id is not None:
                raise ValidationFailed("the district summary takes no district id")
        elif self.report in PER_DISTRICT_REPORTS:
            if self.district_id is None or not DISTRICT_ID_PATTERN.match(self.district_id):
                raise ValidationFailed(
                    f"{self.report} needs a district id of letters or digits, "
                    f"got {self.district_id!r}"
                )
        else:
            raise ValidationFailed(f"unknown report {self.report!r}")

    @property
    def program_year(self) -> str:
        return program_year_of(self.data_month)

    @property
    def month_end(self) -> date:
        return month_end(self.data_month)

    @property
    def is_closing_period(self) -> bool:
        """True when the as-of date lies after the data month (a month-end collection)."""
        return self.as_of > self.month_end

    @property
    def token(self) -> str:
        """`{report}[~{district}]~{monthEnd}~{asOf}~{PY}` with `M/D/YYYY` dates."""
        parts = [str(self.report)]
        if self.district_id is not None:
            parts.append(self.district_id)
        parts += [format_url_date(self.month_end), format_url_date(self.as_of), self.program_year]
        return "~".join(parts)


@dataclass(frozen=True)
class ExportToken:
    """The parts of a token as the site receives them (dates may be empty, as old clients sent)."""

    report: ReportType
    district_id: str | None
    month_end: date | None
    as_of: date | None
    program_year: str


def parse_token(token: str) -> ExportToken:
    """Read a `report=` token back into its parts.

    Raises ValidationFailed for an unknown report, a wrong number of segments, a malformed
    date or program year.
    """
    parts = token.split("~")
    try:
        report = ReportType(parts[0])
    except ValueError:
        raise ValidationFailed(f"unknown report {parts[0]!r} in token {token!r}") from None
    expected = 4 if report == ReportType.DISTRICT_SUMMARY else 5
    if len(parts) != expected:
        raise ValidationFailed(f"token {token!r} has {len(parts)} segments, expected {expected}")
    district_id = None
    if report != ReportType.DISTRICT_SUMMARY:
        district_id = parts[1]
        if not DISTRICT_ID_PATTERN.match(district_id):
            raise ValidationFailed(f"malformed district id {district_id!r} in token {token!r}")
    month_end_text, as_of_text, program_year = parts[-3:]
    match = _PROGRAM_YEAR.match(program_year)
    if not match or int(match[2]) != int(match[1]) + 1:
        raise ValidationFailed(f"malformed program year {program_year!r} in token {token!r}")
    return ExportToken(
        report=report,
        district_id=district_id,
        month_end=_parse_url_date(month_end_text, token),
        as_of=_parse_url_date(as_of_text, token),
        program_year=program_year,
    )


def _parse_url_date(text: str, token: str) -> date | None:
    if text == "":
        return None
    match = _URL_DATE.match(text)
    if match:
        try:
            return date(int(match[3]), int(match[1]), int(match[2]))
        except ValueError:
            pass
    raise ValidationFailed(f"malformed date {text!r} in token {token!r}")


def export_urls(request: ExportRequest, base_url: str) -> tuple[str, ...]:
    """The URLs to try, in order: the archive path `/{PY}/`, then the root path.

    The live program year is served only at the root; the archive answers it 500 or 302, so
    the client falls through to the next URL. The footer check decides what is accepted.
    """
    base = base_url.rstrip("/")
    query = f"export.aspx?type=CSV&report={request.token}"
    return (f"{base}/{request.program_year}/{query}", f"{base}/{query}")


def _site_form(district_id: str) -> str:
    """The id as the site's URLs spell it (`districts.ids.site_district_id`); storage keeps the
    canonical form. Raises ValidationFailed for a malformed id."""
    try:
        return site_district_id(district_id)
    except InvalidDistrictId as exc:
        raise ValidationFailed(str(exc)) from None


def request_for_as_of(
    report: ReportType, as_of: date, district_id: str | None = None
) -> ExportRequest:
    """The export request for what the site serves at `as_of` (DOMAIN.md section 2).

    An as-of inside a closing period (after month M ends, up to M's closing date) asks for M:
    month end and program year of M, the data stored under M's last day (2025-07-05 gives
    `~6/30/2025~7/5/2025~2024-2025`). Any other as-of asks for its own month and is stored
    under itself. Closing periods come from the merged registry (`closing.py`); a month whose
    closing is unknown is taken as closed. `district_id` may be canonical (`"2"`): the token
    carries the site form (`"02"`). Raises ValidationFailed for dates before program year
    2008-2009, an unknown report or a malformed district id.
    """
    if as_of < EARLIEST_DATE:
        raise ValidationFailed(
            f"{as_of} is before {EARLIEST_DATE}: exports start with program year 2008-2009"
        )
    closing_of = closing_period_month(as_of)
    data_month = closing_of or as_of.replace(day=1)
    logical_date = month_end(data_month) if closing_of else as_of
    return _request(report, data_month, as_of, logical_date, district_id)


def request_for(
    report: ReportType, logical_date: date, district_id: str | None = None
) -> ExportRequest:
    """The export request whose data is stored under `logical_date`.

    `district_id` may be canonical (`"2"`); the token carries the site form (`"02"`). A month's
    last day is collected at the month's closing date from the registry (the final
    state of the month); the day itself when the registry does not know the month. Any other
    day is requested as of itself, for its own month. Raises ValidationFailed for dates before
    program year 2008-2009 and for a malformed district id.
    """
    if logical_date < EARLIEST_DATE:
        raise ValidationFailed(
            f"{logical_date} is before {EARLIEST_DATE}: exports start with program year 2008-2009"
        )
    data_month = logical_date.replace(day=1)
    as_of = logical_date
    if logical_date == month_end(logical_date):
        as_of = closing_date_for(data_month) or logical_date
    return _request(report, data_month, as_of, logical_date, district_id)


def _request(
    report: ReportType | str,
    data_month: date,
    as_of: date,
    logical_date: date,
    district_id: str | None,
) -> ExportRequest:
    try:
        report = ReportType(report)
    except ValueError:
        raise ValidationFailed(f"unknown report {report!r}") from None
    if district_id is not None and report in PER_DISTRICT_REPORTS:
        district_id = _site_form(district_id) if district_id.strip() else district_id
    return ExportRequest(
        report=report,
        district_id=district_id,
        data_month=data_month,
        as_of=as_of,
        logical_date=logical_date,
    )
