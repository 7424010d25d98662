"""The domains of the contracts' columns (`reports.ColumnKind`): the definition for one cell,
and the check of whole rows, compiled once per column layout.

`cell_in_domain` defines each domain. Checking every cell through it costs a function call and
a regex per cell (about 11,000 cells for one district's three reports), so rows are checked by
a `RowCheck` instead: the row's cells joined with NUL are matched at once against one regular
expression made of each column's usual spellings (`[0-9]+` for a required count). A row that
matches is inside every domain; only a row that misses is checked cell by cell with
`cell_in_domain`, which decides, and names the first cell outside its column's domain. The
compiled spellings accept a subset of each domain, never more, and no NUL, so the match cannot
straddle two cells (tests/districts/dashboard/test_domains.py compares the two on generated
text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from .errors import ValidationFailed
from .reports import CLUB_STATUSES, DISTINGUISHED_LEVELS, FIELD_KINDS, ColumnKind, Contract
from .values import to_percent

# A column as the checks see it: its kind, and whether the contract requires it (an empty
# number is accepted only in an optional column).
Column = tuple[ColumnKind, bool]


def cell_in_domain(kind: ColumnKind, text: str, *, required: bool = False) -> bool:
    """True when a cell's text lies in the domain of its column kind (reports.ColumnKind).

    Numbers may carry thousands separators; an empty number is accepted only in an optional
    column (`required=False`), since a required one would silently read as zero. Statuses,
    levels and flags are matched case-insensitively. Club numbers are ASCII digits (zero-padded
    or not), divisions one letter and areas two digits (`0D`/`0A` unassigned): an id that is
    anything else (markup, say) is refused, never stored.
    """
    value = text.strip()
    if not value and kind in _NUMBER_KINDS:
        return not required
    match kind:
        case ColumnKind.TEXT:
            return True
        case ColumnKind.COUNT:
            return _COUNT.fullmatch(value.replace(",", "")) is not None
        case ColumnKind.SIGNED:
            return _SIGNED.fullmatch(value.replace(",", "")) is not None
        case ColumnKind.GOALS:
            return _COUNT.fullmatch(value) is not None and int(value) <= 10
        case ColumnKind.CLUB_STATUS:
            return value.lower() in _CLUB_STATUSES
        case ColumnKind.LEVEL:
            return not value or value.upper() in DISTINGUISHED_LEVELS
        case ColumnKind.FLAG:
            return value.upper() in ("", "Y", "N")
        case ColumnKind.PERCENT:
            try:
                to_percent(value)
            except ValidationFailed:
                return False
            return True
        case ColumnKind.CLUB_NUMBER:
            return _CLUB_NUMBER.fullmatch(value) is not None
        case ColumnKind.DIVISION:
            return _DIVISION.fullmatch(value) is not None
        case ColumnKind.AREA:
            return _AREA.fullmatch(value) is not None
    return False


_NUMBER_KINDS = (ColumnKind.COUNT, ColumnKind.SIGNED, ColumnKind.GOALS, ColumnKind.PERCENT)
_COUNT = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_CLUB_STATUSES = tuple(status.lower() for status in CLUB_STATUSES)
# ASCII only: `\d` would let other scripts' digits through.
_CLUB_NUMBER = re.compile(r"[0-9]{1,8}")
_DIVISION = re.compile(r"(?:[A-Za-z]|0[Dd])?")
_AREA = re.compile(r"(?:[0-9]{2}|0[Aa])?")

# The usual spellings of each kind, without surrounding blanks: a subset of its domain. An
# empty number is added for optional columns (`_spelling`).
_SPELLINGS: dict[ColumnKind, str] = {
    ColumnKind.TEXT: r"[^\x00]*",
    ColumnKind.COUNT: r",*[0-9][0-9,]*",
    ColumnKind.SIGNED: r"[+-]?[0-9]+",
    ColumnKind.GOALS: r"10|[0-9]",
    ColumnKind.CLUB_STATUS: "|".join((*CLUB_STATUSES, *_CLUB_STATUSES)),
    ColumnKind.LEVEL: f"[{''.join(DISTINGUISHED_LEVELS)}{''.join(DISTINGUISHED_LEVELS).lower()}]?",
    ColumnKind.FLAG: r"[YNyn]?",
    ColumnKind.PERCENT: r"N/A|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)%?",
    ColumnKind.CLUB_NUMBER: r"[0-9]{1,8}",
    ColumnKind.DIVISION: r"(?:[A-Za-z]|0[Dd])?",
    ColumnKind.AREA: r"(?:[0-9]{2}|0[Aa])?",
}
_SEPARATOR = "\x00"


def _spelling(column: Column) -> str:
    kind, required = column
    pattern = f"(?:{_SPELLINGS[kind]})"
    return pattern if required or kind not in _NUMBER_KINDS else f"{pattern}?"


class RowCheck:
    """The domain check of rows whose cells are, in order, of `columns`."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        self.columns = columns
        self._usual = re.compile(_SEPARATOR.join(map(_spelling, columns))).fullmatch

    def first_outside(self, cells: Sequence[str]) -> int | None:
        """The index of the first cell outside its column's domain, None when there is none.
        `cells` holds one cell per column."""
        if self._usual(_SEPARATOR.join(cells)) is not None:
            return None
        for index, (kind, required) in enumerate(self.columns):
            if not cell_in_domain(kind, cells[index], required=required):
                return index
        return None


def cells_getter(keys: tuple[Any, ...]) -> Callable[[Any], tuple[str, ...]]:
    """A function giving the cells of a record (by index) or a row (by field) at `keys`, as a
    tuple in the order of `keys` even for one key; it raises as `record[key]` does."""
    if len(keys) == 1:
        (only,) = keys
        return lambda cells: (cells[only],)
    return itemgetter(*keys)


def contract_columns(contract: Contract, fields: tuple[str, ...]) -> tuple[Column, ...]:
    """The columns of `fields` (canonical, in row order) under `contract`."""
    return tuple(
        (FIELD_KINDS.get(field, ColumnKind.TEXT), field in contract.required) for field in fields
    )


@lru_cache(maxsize=512)
def row_check(columns: tuple[Column, ...]) -> RowCheck:
    """The compiled check of a column layout; layouts repeat (one per header era), so each is
    compiled once per process."""
    return RowCheck(columns)
