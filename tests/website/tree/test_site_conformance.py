"""The published tree as the site's collector writes it, where the schemas leave room: no `null`
but in the report rows (zod's `.optional()` refuses it), club ids canonical while the rows keep
the published number, the club index's date and count, an unreadable district counted as the
site counts a failed one, `Unknown` for a summary row without a region."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from analytics import services as analytics_services
from districts.dashboard.values import club_key
from districts.ids import site_district_id
from tests.website.stored import as_of_of, store_day
from tests.website.tree_checks import load_tree
from website.publishing import publish
from website.tree import rankings

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 11)
MONTH_END = date(2025, 3, 31)  # collected in its closing period
RAW_FIELDS = ("divisionPerformance", "clubPerformance", "districtPerformance")


def nulls(value: Any, path: str = "") -> list[str]:
    """The paths of every null in `value`, the report rows left out (their cells may be)."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            if key not in RAW_FIELDS
            for found in nulls(item, f"{path}.{key}")
        ]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in nulls(item, f"{path}[{i}]")]
    return []


def published(out: Path) -> dict[str, Any]:
    outcome = publish(f"file://{out}")
    assert outcome.errors == ()
    return load_tree(out)


def test_no_file_but_the_analytics_holds_a_null_outside_the_report_rows(snapshot_root, tmp_path):
    store_day(DAY, ["42", "F"])
    store_day(MONTH_END, ["42"])
    tree = published(tmp_path / "cdn")
    assert any("/district_" in path for path in tree)
    found = {path: nulls(payload) for path, payload in tree.items() if "/analytics/" not in path}
    assert {path: where for path, where in found.items() if where} == {}


def test_club_ids_are_canonical_and_the_report_rows_keep_the_published_numbers(
    snapshot_root, tmp_path
):
    store_day(DAY, ["42", "61"])
    tree = published(tmp_path / "cdn")
    ids = set()
    for district_id in ("42", "61"):
        data = tree[f"snapshots/{DAY}/district_{district_id}.json"]["data"]
        numbers = [row["Club Number"] for row in data["clubPerformance"]]
        assert all(len(number) == 8 for number in numbers)
        assert any(number.startswith("0") for number in numbers)
        assert sorted(club["clubId"] for club in data["clubs"]) == sorted(map(club_key, numbers))
        ids |= {(club["clubId"], district_id) for club in data["clubs"]}
    index = tree["config/club-index.json"]
    assert {(k, v["districtId"]) for k, v in index["clubs"].items()} == ids
    assert index["totalClubs"] == len(ids)
    assert index["snapshotDate"] == DAY.isoformat()
    assert list(index["clubs"]) == sorted(index["clubs"], key=int)


def test_an_unreadable_district_file_is_a_failed_district_of_its_date(snapshot_root, tmp_path):
    store_day(DAY, ["42", "61"])
    (snapshot_root / DAY.isoformat() / "district_61.json").write_text("{not json")
    tree = published(tmp_path / "cdn")
    metadata = tree[f"snapshots/{DAY}/metadata.json"]
    assert metadata["status"] == "partial"
    assert metadata["configuredDistricts"] == ["42", "61"]
    assert (metadata["successfulDistricts"], metadata["failedDistricts"]) == (["42"], ["61"])
    assert any(error.startswith("district 61: unreadable") for error in metadata["errors"])
    manifest = tree[f"snapshots/{DAY}/manifest.json"]
    assert [entry["districtId"] for entry in manifest["districts"]] == ["42"]
    counts = [manifest[k] for k in ("totalDistricts", "successfulDistricts", "failedDistricts")]
    assert counts == [2, 1, 1]
    assert f"snapshots/{DAY}/district_61.json" not in tree


def test_a_summary_row_without_a_region_is_in_region_unknown(snapshot_root, monkeypatch):
    store_day(DAY, ["42"])
    read = analytics_services.read_date_summary

    def without_region(day: date):
        summary = read(day)
        first, *rest = summary.statistics
        blank = dataclasses.replace(first, region=None)
        return dataclasses.replace(summary, statistics=(blank, *rest))

    monkeypatch.setattr(rankings, "read_date_summary", without_region)
    rows, standings, _as_of, problem = rankings.ranking_rows(DAY)
    assert problem is None
    blank_id = without_region(DAY).statistics[0].district_id
    regions = {row["districtId"]: row["region"] for row in rows}
    assert regions[site_district_id(blank_id)] == rankings.UNKNOWN_REGION
    assert all(region for region in regions.values())
    assert standings[blank_id].region is None  # the analytics keep "no region"


def test_a_closing_period_summary_says_the_day_it_is_as_of_under_its_month_end(
    snapshot_root, tmp_path
):
    store_day(DAY, ["42"])
    store_day(MONTH_END, ["42"])
    collected = as_of_of(MONTH_END)
    assert collected > MONTH_END
    tree = published(tmp_path / "cdn")
    metadata = tree[f"snapshots/{MONTH_END}/all-districts-rankings.json"]["metadata"]
    assert metadata["snapshotId"] == MONTH_END.isoformat()
    assert metadata["sourceCsvDate"] == collected.isoformat()
    assert metadata["csvFetchedAt"] == f"{collected}T00:00:00.000Z"
    ordinary = tree[f"snapshots/{DAY}/all-districts-rankings.json"]["metadata"]
    assert ordinary["sourceCsvDate"] == ordinary["snapshotId"] == DAY.isoformat()
    assert tree["v1/rankings.json"]["date"] == collected.isoformat()
    # The rank history stays on the snapshot dates: each date once, as in v1/dates.json.
    history = [p["date"] for p in tree["v1/rank-history/42.json"]["history"]]
    assert history == tree["v1/dates.json"]["dates"] == [DAY.isoformat(), MONTH_END.isoformat()]
