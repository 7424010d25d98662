"""Reading one cell of an export: numbers, percentages, club numbers, district ids and the
charter/suspend dates (DOMAIN.md section 3). Each raises ValidationFailed naming the text it
cannot read; normalization calls them once per cell, so the common spellings take no regex."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from districts import ids

from .errors import ValidationFailed

_INTEGER = re.compile(r"[+-]?\d+")
_PERCENT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_CHARTER_SUSPEND = re.compile(
    r"(?P<kind>charter|susp)\w*\.?\s+(?P<mm>\d{1,2})/(?P<dd>\d{1,2})/(?P<yy>\d{2}|\d{4})\b",
    re.IGNORECASE,
)


def club_key(club_number: str) -> str:
    """The club number for matching across reports: leading zeros stripped (`00000396` -> `396`)."""
    stripped = club_number.strip().lstrip("0")
    return stripped or ("0" if club_number.strip() else "")


def to_int(text: str) -> int | None:
    """`"16"` -> 16, `"1,234"` -> 1234, `""` -> None. Raises ValidationFailed for non-integers."""
    if text.isascii() and text.isdigit():  # the common spelling: plain ASCII digits
        return int(text)
    value = text.strip().replace(",", "")
    if not value:
        return None
    if not _INTEGER.fullmatch(value):
        raise ValidationFailed(f"expected an integer, got {text!r}")
    return int(value)


def int_cell(row: dict[str, str] | None, field: str) -> int | None:
    """The integer of a row's cell; None for no row, a field the row lacks or an empty cell."""
    if row is None or field not in row:
        return None
    return to_int(row[field])


def id_cell(row: dict[str, str], key: str) -> str:
    """An id cell (club number, division, area) as the contract reads it: without surrounding
    blanks and case-insensitively, so `" a "` is division `A`."""
    return row.get(key, "").strip().upper()


def to_percent(text: str) -> float | None:
    """`"-8.29%"` -> -8.29; `"N/A"` or `""` -> None. Raises ValidationFailed otherwise."""
    value = text.strip().removesuffix("%").strip().replace(",", "")
    if not value or value.upper() == "N/A":
        return None
    if not _PERCENT.fullmatch(value):
        raise ValidationFailed(f"expected a percentage, got {text!r}")
    return float(value)


def row_district_id(row: dict[str, str]) -> str:
    """The canonical district id of an export row (`"02"` -> `"2"`). Raises ValidationFailed
    for an id of the wrong shape: a malformed id makes the export unacceptable."""
    return _district_id(row["district"])


@lru_cache(maxsize=1024)
def _district_id(text: str) -> str:
    # Every row of a per-district export names the same district: read its id once.
    try:
        return ids.canonical_district_id(text)
    except ids.InvalidDistrictId:
        raise ValidationFailed(f"malformed district id {text!r}") from None


def parse_charter_suspend(text: str) -> tuple[date | None, date | None]:
    """`"Charter 04/15/26"`, `"Susp 09/30/25"` or both -> (charter date, suspend date).

    Two-digit years are 20YY. Empty text gives (None, None). Raises ValidationFailed for
    non-empty text with no readable date, or an impossible date.
    """
    if not text.strip():
        return None, None
    found: dict[str, date] = {}
    for match in _CHARTER_SUSPEND.finditer(text):
        year = int(match["yy"])
        year = year + 2000 if year < 100 else year
        try:
            found[match["kind"].lower()] = date(year, int(match["mm"]), int(match["dd"]))
        except ValueError:
            raise ValidationFailed(f"invalid date in {text!r}") from None
    if not found:
        raise ValidationFailed(f"unreadable charter/suspend text {text!r}")
    return found.get("charter"), found.get("susp")
