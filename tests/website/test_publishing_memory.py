"""What a publish holds of every date until the indexes are built: the club tables of dates
whose clubs are the same are one table, and each (district, name) entry is held once."""

from __future__ import annotations

from datetime import date

from website.publishing import _SharedClubs
from website.tree import DateFacts


def _facts(day: int, clubs: dict[str, tuple[str, str]]) -> DateFacts:
    # Fresh strings and tuples each time, as reading a date from the store gives.
    copied = {"".join(n): ("".join(d), "".join(c)) for n, (d, c) in clubs.items()}
    return DateFacts(
        day=date(2025, 3, day), district_ids=(), points={}, clubs=copied, rankings=None
    )


def test_dates_with_the_same_clubs_share_one_table():
    shared = _SharedClubs()
    clubs = {"1234": ("42", "Speakers"), "5678": ("61", "Talkers")}
    first, second = shared.of(_facts(10, clubs)), shared.of(_facts(11, clubs))
    assert first.clubs is second.clubs
    assert second.day == date(2025, 3, 11)


def test_a_changed_table_is_kept_with_its_unchanged_entries_shared():
    shared = _SharedClubs()
    before = shared.of(_facts(10, {"1234": ("42", "Speakers"), "5678": ("61", "Talkers")}))
    after = shared.of(_facts(11, {"1234": ("42", "Speakers"), "5678": ("61", "Orators")}))
    assert before.clubs == {"1234": ("42", "Speakers"), "5678": ("61", "Talkers")}
    assert after.clubs == {"1234": ("42", "Speakers"), "5678": ("61", "Orators")}
    assert after.clubs["1234"] is before.clubs["1234"]
