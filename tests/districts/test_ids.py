"""districts/ids.py: the one district-id module (DOMAIN.md section 6)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from districts import ids
from districts.dashboard.statistics import DistrictStatistics
from snapshots import store


@pytest.mark.parametrize(
    ("raw", "canonical", "site"),
    [("2", "2", "02"), ("02", "2", "02"), (" 21 ", "21", "21"), ("128", "128", "128"),
     ("f", "F", "F"), ("U", "U", "U"), ("0", "0", "00")],
)  # fmt: skip
def test_canonical_and_site_forms(raw, canonical, site):
    assert ids.canonical_district_id(raw) == canonical
    assert ids.site_district_id(raw) == site


@pytest.mark.parametrize("raw", ["", " ", "1234", "AB", "4a", "-1", "4.2", "é", "*", None])
def test_malformed_ids_are_refused_naming_the_value(raw):
    with pytest.raises(ids.InvalidDistrictId, match="Invalid district id"):
        ids.canonical_district_id(raw)


@given(st.integers(min_value=0, max_value=999))
@settings(max_examples=200)
def test_site_form_and_canonical_form_round_trip(number):
    canonical = ids.canonical_district_id(str(number))
    assert ids.canonical_district_id(ids.site_district_id(canonical)) == canonical
    assert ids.is_canonical_district_id(canonical)


def test_every_district_sorts_first_then_numbers_numerically_then_letters():
    unsorted = ["F", "101", ids.ALL_DISTRICTS, "9", "U", "42"]
    assert sorted(unsorted, key=ids.district_sort_key) == ["*", "9", "42", "101", "F", "U"]


def test_only_canonical_ids_are_canonical():
    assert [ids.is_canonical_district_id(v) for v in ("2", "02", "f", "F", "*", 2)] == [
        True,
        False,
        False,
        True,
        False,
        False,
    ]


def test_the_store_refuses_a_district_id_that_is_not_canonical(snapshot_root):
    day = date(2025, 3, 10)
    statistics = DistrictStatistics(
        district_id="02",
        logical_date=day,
        as_of_date=day,
        data_month="2025-03",
        program_year="2024-2025",
        is_closing_period=False,
        detail="summary",
    )
    with pytest.raises(store.SnapshotStoreError, match="canonical"):
        store.write_district(logical_date=day, statistics=statistics)
