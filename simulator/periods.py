"""Program years, data months and closing periods as the simulated site sees them.

Deliberately independent of the collector's own date code: the simulator is the other side of
the wire and must not share the client's mistakes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from districts.dashboard.closing import SHIPPED_REGISTRY

SHIPPED_CLOSING_DATES = SHIPPED_REGISTRY

# Months the registry does not know (before 2017, after its last month) close on a day of the
# next month derived from a hash of the month, in the ranges the registry shows (DOMAIN.md
# section 1): day 3-18 normally, 12-29 of July for June. Deterministic, and different from
# month to month, so closing-date discovery has something real to find.
SIMULATED_CLOSING_DAYS = range(3, 19)
SIMULATED_JUNE_CLOSING_DAYS = range(12, 30)


def simulated_closing_day(data_month: date) -> int:
    """The day of the next month on which a month unknown to the registry closes."""
    days = SIMULATED_JUNE_CLOSING_DAYS if data_month.month == 6 else SIMULATED_CLOSING_DAYS
    digest = hashlib.sha256(f"closing {data_month:%Y-%m}".encode()).digest()
    return days[int.from_bytes(digest[:4], "big") % len(days)]


@dataclass(frozen=True, order=True)
class ProgramYear:
    """July 1 of `start` to June 30 of `start + 1`, written `2024-2025`."""

    start: int

    @classmethod
    def parse(cls, text: str) -> ProgramYear:
        """Parse `YYYY-YYYY`; raises ValueError unless the years are consecutive."""
        first, sep, second = text.strip().partition("-")
        if not (sep and first.isdigit() and second.isdigit() and len(first) == len(second) == 4):
            raise ValueError(f"not a program year: {text!r}")
        if int(second) != int(first) + 1:
            raise ValueError(f"not a program year: {text!r}")
        return cls(int(first))

    @classmethod
    def of(cls, day: date) -> ProgramYear:
        """The program year a calendar day (or data month) belongs to."""
        return cls(day.year if day.month >= 7 else day.year - 1)

    @property
    def first_day(self) -> date:
        return date(self.start, 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.start + 1, 6, 30)

    def __str__(self) -> str:
        return f"{self.start}-{self.start + 1}"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(day: date) -> date:
    return next_month(day) - timedelta(days=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s month."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def previous_month(day: date) -> date:
    """The first day of the month before `day`'s month."""
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


class ClosingCalendar:
    """Which data month an as-of date serves, from the month-end closing-dates registry.

    As-of dates partition into data months: month M is served from the day after M-1's closing
    date up to M's closing date, which normally lies in M+1 (2022-04 closed on its own last day).
    Months the registry does not know close on `simulated_closing_day`. Relative to a site's
    today, the previous month is therefore still closing (the as-of dates up to yesterday serve
    it) until its simulated closing day has passed.
    """

    def __init__(self, closing_dates: dict[date, date] | None = None) -> None:
        self._closing = dict(closing_dates) if closing_dates is not None else load_closing_dates()

    def closing_date(self, data_month: date) -> date:
        """The last as-of date at which `data_month` is served."""
        month = first_of_month(data_month)
        known = self._closing.get(month)
        if known is not None:
            return known
        return next_month(month).replace(day=simulated_closing_day(month))

    def first_as_of(self, data_month: date) -> date:
        """The first as-of date at which `data_month` is served."""
        return self.closing_date(previous_month(data_month)) + timedelta(days=1)

    def data_month_of(self, as_of: date) -> date:
        """The data month (first day) the site serves at `as_of`."""
        month = first_of_month(as_of)
        if as_of <= self.closing_date(previous_month(month)):
            return previous_month(month)
        if as_of > self.closing_date(month):
            # A month closing before its own end would serve the next month for the rest of it.
            return next_month(month)
        return month


def load_closing_dates(path: Path = SHIPPED_CLOSING_DATES) -> dict[date, date]:
    """Read a registry file (`{"months": [{"dataMonth": "2024-12", "closingDate": ...}]}`)."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    closing: dict[date, date] = {}
    for entry in payload["months"]:
        year, month = (int(part) for part in entry["dataMonth"].split("-"))
        closing[date(year, month, 1)] = date.fromisoformat(entry["closingDate"])
    return closing
