"""`DistrictStatistics`: one district on one logical date, normalized (DOMAIN.md section 7).

Plain frozen dataclasses that cross every boundary (parser -> store -> API). `to_dict()` gives
the JSON-ready form stored in `district_<id>.json`; `from_dict()` reads it back, so
`DistrictStatistics.from_dict(s.to_dict()) == s`. Counts the source did not provide are None
(summary-level statistics have no club details, for example), never a made-up zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal

Detail = Literal["summary", "full"]
DETAIL_LEVELS: tuple[Detail, ...] = ("summary", "full")  # ordered: later is more detailed


@dataclass(frozen=True)
class Membership:
    active_members: int | None = None
    base: int | None = None
    net_growth: int | None = None
    new_members: int | None = None


@dataclass(frozen=True)
class Payments:
    new: int | None = None
    october: int | None = None
    april: int | None = None
    late: int | None = None
    charter: int | None = None
    total_ytd: int | None = None
    base: int | None = None
    growth_percent: float | None = None


@dataclass(frozen=True)
class ClubCounts:
    total: int | None = None
    active: int | None = None
    low: int | None = None
    suspended: int | None = None
    ineligible: int | None = None
    paid: int | None = None
    base: int | None = None
    growth_percent: float | None = None
    distinguished: int | None = None  # level D
    select_distinguished: int | None = None  # level S
    presidents_distinguished: int | None = None  # level P
    smedley_distinguished: int | None = None  # level M
    total_distinguished: int | None = None
    distinguished_percent: float | None = None


@dataclass(frozen=True)
class Education:
    level_1s: int = 0
    level_2s: int = 0
    add_level_2s: int = 0
    level_3s: int = 0
    level_4s_5s_dtm: int = 0
    add_level_4s_5s_dtm: int = 0


@dataclass(frozen=True)
class Area:
    area: str
    club_base: int | None = None
    clubs: int = 0
    paid_clubs: int | None = None
    distinguished_clubs: int | None = None
    paid_club_goals: tuple[int | None, int | None, int | None] = (None, None, None)  # D, S, P
    distinguished_club_goals: tuple[int | None, int | None, int | None] = (None, None, None)
    nov_visits: int = 0
    may_visits: int = 0
    distinguished_status: str = ""


@dataclass(frozen=True)
class Division:
    division: str
    club_base: int | None = None
    clubs: int = 0
    paid_clubs: int | None = None
    distinguished_clubs: int | None = None
    paid_club_goals: tuple[int | None, int | None, int | None] = (None, None, None)
    distinguished_club_goals: tuple[int | None, int | None, int | None] = (None, None, None)
    distinguished_status: str = ""
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class ClubDetail:
    club_number: str  # as published, zero-padded text
    name: str
    division: str
    area: str
    status: str | None = None  # Active, Low, Suspended, Ineligible
    active_members: int | None = None
    membership_base: int | None = None
    new_members: int | None = None
    goals_met: int | None = None
    distinguished_level: str = ""  # "", D, S, P, M
    new_payments: int | None = None
    october_payments: int | None = None
    april_payments: int | None = None
    late_payments: int | None = None
    charter_payments: int | None = None
    total_payments: int | None = None
    charter_date: date | None = None
    suspend_date: date | None = None


@dataclass(frozen=True)
class DuplicateRow:
    """A club listed more than once with different cells: which row was kept, and why.

    Lines are 1-based line numbers of the published file. Identical repeats are not listed.
    """

    report: str
    club_number: str  # as published in the kept row
    kept_line: int
    dropped_lines: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class DistrictStatistics:
    district_id: str  # canonical: no leading zeros, upper-case
    logical_date: date
    as_of_date: date
    data_month: str  # YYYY-MM
    program_year: str  # 2024-2025
    is_closing_period: bool
    detail: Detail
    region: str | None = None
    membership: Membership = field(default_factory=Membership)
    payments: Payments = field(default_factory=Payments)
    clubs: ClubCounts = field(default_factory=ClubCounts)
    education: Education | None = None
    divisions: tuple[Division, ...] = ()
    club_details: tuple[ClubDetail, ...] = ()
    warnings: tuple[str, ...] = ()
    # Conflicting duplicate club rows of the source exports (absent from files written before
    # this field existed, which read back as no duplicates).
    duplicate_rows: tuple[DuplicateRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistrictStatistics:
        return _from_jsonable(cls, data)


# Values that are their own JSON form (`bool` and `float` included).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _to_jsonable(value: Any) -> Any:
    # Called for every field of every club of a stored district: the field names of each class
    # are looked up once, and scalars are taken as they are without a call.
    names = _field_names(type(value))
    if names is not None:
        result = {}
        for name in names:
            item = getattr(value, name)
            result[name] = item if type(item) in _SCALARS else _to_jsonable(item)
        return result
    if isinstance(value, tuple | list):
        return [v if type(v) in _SCALARS else _to_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass, in order; None for any other class."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


def _from_jsonable(cls: type, data: dict[str, Any]) -> Any:
    converters = _CONVERTERS.get(cls, {})
    kwargs = {}
    for name in _field_names(cls):
        if name in data:
            raw = data[name]
            convert = converters.get(name)
            kwargs[name] = raw if raw is None or convert is None else convert(raw)
    return cls(**kwargs)


def _one(cls: type) -> Callable[[dict[str, Any]], Any]:
    return lambda raw: _from_jsonable(cls, raw)


def _many(cls: type) -> Callable[[list[dict[str, Any]]], tuple]:
    return lambda raw: tuple(_from_jsonable(cls, item) for item in raw)


# How each field whose JSON form is not its value is read back (None stays None); every other
# field is taken as it is.
_CONVERTERS: dict[type, dict[str, Callable[[Any], Any]]] = {
    DistrictStatistics: {
        "logical_date": date.fromisoformat,
        "as_of_date": date.fromisoformat,
        "membership": _one(Membership),
        "payments": _one(Payments),
        "clubs": _one(ClubCounts),
        "education": _one(Education),
        "divisions": _many(Division),
        "club_details": _many(ClubDetail),
        "warnings": tuple,
        "duplicate_rows": _many(DuplicateRow),
    },
    Division: {"areas": _many(Area), "paid_club_goals": tuple, "distinguished_club_goals": tuple},
    Area: {"paid_club_goals": tuple, "distinguished_club_goals": tuple},
    DuplicateRow: {"dropped_lines": tuple},
    ClubDetail: {"charter_date": date.fromisoformat, "suspend_date": date.fromisoformat},
}
