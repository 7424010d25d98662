"""Shared by every app's commands: option types that refuse out-of-range values with a short message
(argparse turns it into "argument --days: ...", and the command exits 2 without a traceback).

Every integer and date option of every command takes one of these, with bounds: a value past
them would overflow a `timedelta`, a date or a database integer further down.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date

ECHO_LIMIT = 64
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")
_LONG_INTEGER = re.compile(r"^[+-]?\d+$")


def shown(text: str) -> str:
    """The value as the message quotes it, cut to ECHO_LIMIT characters."""
    return repr(text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "\u2026")


def integer(*, minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers within [minimum, maximum]."""

    def parse(text: str) -> int:
        # Past 40 digits, out of range whatever the bounds; not converted (Python's limit of
        # 4,300 digits would answer "... use sys.set_int_max_str_digits()").
        stripped = text.strip()
        if len(stripped) > 40 and _LONG_INTEGER.match(stripped):
            bound = f"least {minimum}" if stripped.startswith("-") else f"most {maximum}"
            raise argparse.ArgumentTypeError(f"must be at {bound}, got {shown(stripped)}")
        if len(stripped) > 40:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its own messages
    return parse


def iso_date(*, minimum: date, maximum: date) -> Callable[[str], date]:
    """An argparse `type` accepting a YYYY-MM-DD date within [minimum, maximum]."""

    def parse(text: str) -> date:
        try:
            value = date.fromisoformat(text) if _ISO_DATE.match(text) else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a date as YYYY-MM-DD")
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, got {value}")
        return value

    parse.__name__ = "date"
    return parse


def iso_month(*, minimum: date, maximum: date) -> Callable[[str], date]:
    """An argparse `type` accepting a YYYY-MM month within [minimum, maximum] (its first day)."""
    first, last = minimum.replace(day=1), maximum.replace(day=1)

    def parse(text: str) -> date:
        try:
            value = date.fromisoformat(f"{text}-01") if _ISO_MONTH.match(text) else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a month as YYYY-MM")
        if not first <= value <= last:
            raise argparse.ArgumentTypeError(
                f"must be from {first:%Y-%m} to {last:%Y-%m}, got {value:%Y-%m}"
            )
        return value

    parse.__name__ = "month"
    return parse


# Options the request contract bounds itself (and names the field): any 32-bit integer here.
WHOLE = integer(minimum=-(2**31), maximum=2**31 - 1)
PORT = integer(minimum=1, maximum=65_535)
PORT_OR_FREE = integer(minimum=0, maximum=65_535)  # 0: the system picks a free port
SEED = integer(minimum=0, maximum=2**32 - 1)


class _OneValue(argparse._StoreAction):
    """Python 3.11's argparse stores `--days=--` as an empty list without calling the type."""

    def __call__(self, parser, namespace, values, option_string=None):
        if isinstance(values, list) and self.nargs is None:
            parser.error(f"argument {option_string}: expected one value")
        super().__call__(parser, namespace, values, option_string)


def one_value_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options added to `parser` from now on refuse `--option=--` with a one-line error."""
    parser.register("action", None, _OneValue)
    parser.register("action", "store", _OneValue)
    return parser
