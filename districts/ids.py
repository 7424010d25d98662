"""District ids: the one pattern, canonical form, site form and sort order (DOMAIN.md section 6).

The dashboard writes numbers zero-padded to two digits in the summary (`"02"`, `"128"`), bare in
the per-district reports (`"2"`), and the letters `F` and `U`. Everything this project stores,
compares and publishes uses the canonical form (no leading zeros, upper-case); URLs to the
dashboard use the site's form (`site_district_id`). `ALL_DISTRICTS` stands for "every district"
wherever one id is expected (a system-wide unit, a whole-date error of a snapshot).
"""

from __future__ import annotations

import re

# 1-3 digits (leading zeros allowed, as the summary writes them) or one letter.
DISTRICT_ID_PATTERN = re.compile(r"^(?:\d{1,3}|[A-Za-z])$")
ALL_DISTRICTS = "*"


class InvalidDistrictId(ValueError):
    """A district id of the wrong shape; the message names the value and the expected shape."""


def canonical_district_id(raw: object) -> str:
    """`"02"` -> `"2"`, `" f "` -> `"F"`. Raises InvalidDistrictId for anything else."""
    value = str(raw).strip()
    if not DISTRICT_ID_PATTERN.match(value):
        raise InvalidDistrictId(
            f"Invalid district id {raw!r}: expected 1-3 digits or a letter (e.g. 42, 02, F)"
        )
    return value.upper() if value.isalpha() else str(int(value))


def is_canonical_district_id(value: object) -> bool:
    """True for an id already in canonical form (`"2"`, `"128"`, `"F"`; not `"02"` or `"f"`)."""
    try:
        return isinstance(value, str) and canonical_district_id(value) == value
    except InvalidDistrictId:
        return False


def site_district_id(district_id: str) -> str:
    """The id as the dashboard's URLs spell it: numbers zero-padded to two digits (`"2"` ->
    `"02"`, `"128"` unchanged), letters upper-case. Raises InvalidDistrictId."""
    canonical = canonical_district_id(district_id)
    return canonical.zfill(2) if canonical.isdigit() else canonical


def district_sort_key(district_id: str) -> tuple[int, int, str]:
    """Order ids as people read them: `ALL_DISTRICTS` first, numbers numerically, then letters."""
    if district_id == ALL_DISTRICTS:
        return (0, 0, "")
    if district_id.isdigit():
        return (1, int(district_id), "")
    return (2, 0, district_id)
