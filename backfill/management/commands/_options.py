"""Shared by the commands: numeric option types that refuse out-of-range values with a clear
message (argparse turns it into "argument --days: ..." and the command exits non-zero)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def integer(*, minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers within [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


NON_NEGATIVE = integer(minimum=0)
POSITIVE = integer(minimum=1)
PORT = integer(minimum=1, maximum=65535)
