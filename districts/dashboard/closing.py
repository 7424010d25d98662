"""The month-end closing-dates registry (DOMAIN.md section 1).

After a data month M ends, the dashboard keeps serving M while the as-of dates move into M+1;
the registry maps each data month to the last as-of date at which M was still served (its
closing date). Four sources are merged; for the same month a later one wins:

1. shipped: `districts/data/month-end-closing-dates.json` (2017-01..2026-07);
2. discovered: `MonthEndClosing` rows found by probing the dashboard (`closing_discovery.py`);
3. operator: `MonthEndClosing` rows entered or corrected in the admin;
4. file: the file named by `settings.CLOSING_DATES_FILE`, the deployment's own configuration.

An operator's correction beats what a probe found, and the deployment's file beats both because
it is versioned with the deployment and reviewed like code; the database cannot silently undo
it. Both files may use the shipped shape, `{"months": [{"dataMonth": "2025-06", "closingDate":
"2025-07-20"}, ...]}`, or a plain mapping `{"2025-06": "2025-07-20", ...}`.

Files are read once per process. Database rows are cached for `DATABASE_TTL_SECONDS` so that a
long-running worker sees a discovery or an admin edit made elsewhere within seconds; writes in
this process clear the cache at once (`clear_cache`).
"""

from __future__ import annotations

import calendar
import json
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SHIPPED_REGISTRY = Path(__file__).resolve().parent.parent / "data" / "month-end-closing-dates.json"
DATABASE_TTL_SECONDS = 5.0

SHIPPED, DISCOVERED, OPERATOR, FILE = "shipped", "discovered", "operator", "file"


@dataclass(frozen=True)
class ClosingEntry:
    """One month of the merged registry: its closing date and the source that gave it."""

    data_month: date  # first day
    closing_date: date
    source: str  # shipped | discovered | operator | file


@dataclass(frozen=True)
class _DatabaseRows:
    closings: dict[date, ClosingEntry]
    still_closing: dict[date, date]  # data month -> latest as-of seen still serving it


_lock = threading.Lock()
_cached: tuple[float, _DatabaseRows] | None = None
# The last merge, reused while neither the database rows nor the operator file changed: the
# planner asks for every date of a job.
_merged: tuple[_DatabaseRows, str, MappingProxyType[date, ClosingEntry]] | None = None


def closing_registry() -> MappingProxyType[date, ClosingEntry]:
    """The merged registry with the source of each month (first day of month -> entry).

    Raises ImproperlyConfigured when a registry file is missing or malformed.
    """
    merged = {m: ClosingEntry(m, c, SHIPPED) for m, c in _shipped().items()}
    merged.update(_database_rows().closings)
    operator_file = settings.CLOSING_DATES_FILE
    if operator_file:
        merged.update((m, ClosingEntry(m, c, FILE)) for m, c in _read_file(operator_file).items())
    return MappingProxyType(merged)


def closing_dates() -> MappingProxyType[date, date]:
    """The merged registry: first day of each data month -> its closing (last as-of) date.

    Raises ImproperlyConfigured when a registry file is missing or malformed.
    """
    return MappingProxyType({m: e.closing_date for m, e in closing_registry().items()})


def closing_date_for(data_month: date) -> date | None:
    """The closing date of the data month containing `data_month`, or None if unknown."""
    entry = closing_registry().get(data_month.replace(day=1))
    return entry.closing_date if entry else None


def still_closing_on(data_month: date) -> date | None:
    """For a month whose closing date is unknown: the latest as-of at which a probe saw the
    site still serving it (its closing period open then), or None when nothing is recorded."""
    month = data_month.replace(day=1)
    if month in closing_registry():
        return None
    return _database_rows().still_closing.get(month)


def closing_period_month(d: date) -> date | None:
    """The data month (its first day) whose closing period contains day `d`, or None.

    `d` lies in the closing period of the previous month M when it falls in M+1 on or before
    M's closing date, or, while M's closing date is unknown, on or before the last as-of at
    which a probe saw M still served. A month's last day is never in a closing period: it is a
    logical date of its own month. Months nothing is known about give None.
    """
    if (d + timedelta(days=1)).month != d.month:
        return None
    previous = (d.replace(day=1) - timedelta(days=1)).replace(day=1)
    closing = closing_date_for(previous) or still_closing_on(previous)
    if closing is None or (closing.year, closing.month) != (d.year, d.month):
        return None
    return previous if d <= closing else None


# When nothing is known of a calendar month's closings: closing periods end about day 8 of the
# next month, and by day 18 (June's in July: about day 20, by day 29), DOMAIN.md section 1.
_TYPICAL_CLOSING_DAYS = (8, 18)
_TYPICAL_JUNE_CLOSING_DAYS = (20, 29)


def typical_closing_days(data_month: date) -> tuple[int, int]:
    """(median, latest) day of the next month on which months of the same calendar month
    closed, over the merged registry: an estimate of an unknown month's closing period (its
    median), and the day past which a day of the next month is surely not in it (its latest)."""
    month = data_month.month
    days = sorted(
        (entry.closing_date - entry.data_month).days
        - calendar.monthrange(entry.data_month.year, entry.data_month.month)[1]
        + 1
        for entry in closing_registry().values()
        if entry.data_month.month == month
    )
    if not days:
        return _TYPICAL_JUNE_CLOSING_DAYS if month == 6 else _TYPICAL_CLOSING_DAYS
    return days[(len(days) - 1) // 2], days[-1]


def clear_cache() -> None:
    """Forget the cached database rows (call after writing `MonthEndClosing` rows)."""
    global _cached, _merged
    with _lock:
        _cached = None
        _merged = None


def _database_rows() -> _DatabaseRows:
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is not None and now - _cached[0] < DATABASE_TTL_SECONDS:
            return _cached[1]
    rows = _read_database()
    with _lock:
        _cached = (now, rows)
    return rows


def _read_database() -> _DatabaseRows:
    # Imported here: the registry is read while models load (and by the simulator's tests
    # without a database, which replace this function).
    from districts.models import MonthEndClosing

    closings: dict[date, ClosingEntry] = {}
    still: dict[date, date] = {}
    rows = MonthEndClosing.objects.values_list(
        "data_month", "closing_date", "still_closing_on", "source"
    )
    # Discovered rows first, so an operator's row for the same month wins.
    for month, closing, seen, source in sorted(rows, key=lambda r: r[3] != DISCOVERED):
        if closing is not None:
            closings[month] = ClosingEntry(month, closing, source)
        elif seen is not None:
            still[month] = seen
    return _DatabaseRows(closings=closings, still_closing=still)


def _shipped() -> dict[date, date]:
    return _read_file(str(SHIPPED_REGISTRY))


@lru_cache(maxsize=8)
def _read_file(path: str) -> dict[date, date]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"Cannot read closing-dates registry {path}: {exc}") from exc
    try:
        return dict(_entries(raw))
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ImproperlyConfigured(f"Malformed closing-dates registry {path}: {exc!r}") from exc


def _entries(raw: Any):
    pairs = (
        ((m["dataMonth"], m["closingDate"]) for m in raw["months"])
        if isinstance(raw, dict) and "months" in raw
        else raw.items()
    )
    for data_month, closing in pairs:
        month = date.fromisoformat(f"{data_month}-01")
        closing_date = date.fromisoformat(closing)
        if closing_date < month:
            raise ValueError(f"{data_month} closes before it starts ({closing})")
        yield month, closing_date


def registry_json(entries: list[ClosingEntry] | None = None) -> dict[str, Any]:
    """The merged registry (or `entries`) in the shipped file's shape, months in order."""
    entries = sorted(entries or closing_registry().values(), key=lambda e: e.data_month)
    return {
        "description": (
            "Month-end closing dates: each data month (YYYY-MM) mapped to the last as-of date "
            "at which the dashboard still served it. Merged from the shipped registry, "
            "discovered and operator rows, and CLOSING_DATES_FILE."
        ),
        "months": [
            {"dataMonth": f"{e.data_month:%Y-%m}", "closingDate": e.closing_date.isoformat()}
            for e in entries
        ],
    }
