"""The month-end closing-dates registry (DOMAIN.md section 1).

After a data month M ends, the dashboard keeps serving M while the as-of dates move into M+1;
the registry maps each data month to the last as-of date at which M was still served (its
closing date). The project ships `districts/data/month-end-closing-dates.json`; operators extend
or correct it with the file named by `settings.CLOSING_DATES_FILE`, whose entries win.

Both files may use the shipped shape, `{"months": [{"dataMonth": "2025-06", "closingDate":
"2025-07-20"}, ...]}`, or a plain mapping `{"2025-06": "2025-07-20", ...}`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SHIPPED_REGISTRY = Path(__file__).resolve().parent.parent / "data" / "month-end-closing-dates.json"


def closing_dates() -> MappingProxyType[date, date]:
    """The merged registry: first day of each data month -> its closing (last as-of) date.

    Raises ImproperlyConfigured when a registry file is missing or malformed.
    """
    return _load_registry(str(getattr(settings, "CLOSING_DATES_FILE", "") or ""))


def closing_date_for(data_month: date) -> date | None:
    """The closing date of the data month containing `data_month`, or None if unknown."""
    return closing_dates().get(data_month.replace(day=1))


def closing_period_month(d: date) -> date | None:
    """The data month (its first day) whose closing period contains day `d`, or None.

    `d` lies in the closing period of the previous month M when it falls in M+1 on or before
    M's closing date. A month's last day is never in a closing period: it is a logical date of
    its own month. Months the registry does not know give None.
    """
    if (d + timedelta(days=1)).month != d.month:
        return None
    previous = (d.replace(day=1) - timedelta(days=1)).replace(day=1)
    closing = closing_date_for(previous)
    if closing is None or (closing.year, closing.month) != (d.year, d.month):
        return None
    return previous if d <= closing else None


@lru_cache(maxsize=8)
def _load_registry(operator_file: str) -> MappingProxyType[date, date]:
    merged = _read_registry(SHIPPED_REGISTRY)
    if operator_file:
        merged.update(_read_registry(Path(operator_file)))
    return MappingProxyType(merged)


def _read_registry(path: Path) -> dict[date, date]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
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
