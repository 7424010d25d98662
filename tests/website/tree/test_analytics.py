"""`website.tree.analytics`: the newest date's performance targets from our rankings: world
rank and percentile, region rank with ties shared, no rank where we hold no value, and a
manifest naming exactly the files built."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from website.tree.analytics import analytics_files, world_percentile
from website.tree.facts import DateFacts
from website.tree.rankings import Standing

DAY = date(2025, 3, 10)


@pytest.fixture(autouse=True)
def _empty_store(snapshot_root):
    """No stored district file: only the performance targets are built."""
    return snapshot_root


CATEGORIES = ("clubGrowthPercent", "paymentGrowthPercent", "distinguishedPercent")


def _standing(region, values, ranks, *, paid=100, base=98, payments=2000, payment_base=None):
    return Standing(
        region=region,
        paid_clubs=paid,
        paid_club_base=base,
        payments=payments,
        payment_base=payment_base,
        distinguished_clubs=40,
        values=dict(zip(CATEGORIES, values, strict=True)),
        ranks=dict(zip(CATEGORIES, ranks, strict=True)),
    )


def _facts(district_ids, standings):
    return DateFacts(
        day=DAY,
        district_ids=tuple(district_ids),
        points={},
        clubs={},
        rankings=(),
        standings=standings,
    )


STANDINGS = {
    "1": _standing("01", (5.0, 2.0, 50.0), (1, 1, 1)),
    "2": _standing("01", (5.0, None, 40.0), (1, None, 2), payment_base=1900),
    "3": _standing("01", (1.0, 1.0, 10.0), (3, 2, 4)),
    "4": _standing("Unknown", (0.5, 0.5, 20.0), (4, 3, 3), paid=None, base=None),
}


def _files(district_ids):
    return {
        f.path.rsplit("/", 1)[1]: json.loads(f.data)
        for f in list(analytics_files(_facts(district_ids, STANDINGS)))
    }


@pytest.mark.parametrize(
    ("rank", "total", "expected"),
    [
        (1, 4, 75.0),
        (4, 4, 0.0),
        (5, 100, 95.0),
        (1, 3, 66.7),
        (2, 8, 75.0),
        (None, 4, None),
        (1, 1, None),
    ],
)
def test_world_percentile_follows_the_sites_formula(rank, total, expected):
    assert world_percentile(rank, total) == expected


def test_a_district_gets_its_world_and_region_ranks_ties_shared():
    data = _files(["2"])["district_02_performance-targets.json"]["data"]
    clubs = data["paidClubsRankings"]
    assert clubs == {
        "worldRank": 1,
        "worldPercentile": 75.0,
        "regionRank": 1,  # tied with district 1 on 5.0
        "totalDistricts": 4,
        "totalInRegion": 3,
        "region": "01",
    }
    payments = data["membershipPaymentsRankings"]
    assert (payments["worldRank"], payments["worldPercentile"], payments["regionRank"]) == (
        None,
        None,
        None,
    )
    assert data["distinguishedClubsRankings"]["regionRank"] == 2
    assert data["currentProgress"] == {"membership": 2000, "distinguished": 40, "clubGrowth": 2}
    assert (data["paidClubsCount"], data["paidClubsBase"], data["membershipPaymentsBase"]) == (
        100,
        98,
        1900,
    )


def test_an_unknown_region_and_missing_figures_are_not_invented():
    data = _files(["4"])["district_04_performance-targets.json"]["data"]
    for metric in ("paidClubsRankings", "distinguishedClubsRankings"):
        assert (data[metric]["regionRank"], data[metric]["totalInRegion"]) == (None, 0)
        assert data[metric]["region"] is None
    assert data["paidClubsRankings"]["worldRank"] == 4
    assert "clubGrowth" not in data["currentProgress"]
    assert "paidClubsBase" not in data and "membershipPaymentsBase" not in data


def test_the_manifest_lists_exactly_the_files_with_their_sizes_and_data_checksums():
    files = list(analytics_files(_facts(["1", "3", "9"], STANDINGS)))  # 9: not in the rankings
    *targets, manifest_file = files
    assert manifest_file.path == "snapshots/2025-03-10/analytics/manifest.json"
    manifest = json.loads(manifest_file.data)
    assert [e["filename"] for e in manifest["files"]] == [
        "district_01_performance-targets.json",
        "district_03_performance-targets.json",
    ]
    for entry, file in zip(manifest["files"], targets, strict=True):
        content = json.loads(file.data)
        data_text = json.dumps(content["data"], separators=(",", ":")).encode()
        assert entry["size"] == len(file.data)
        assert entry["checksum"] == content["metadata"]["checksum"]
        assert entry["checksum"] == hashlib.sha256(data_text).hexdigest()
    assert (manifest["totalFiles"], manifest["totalSize"]) == (2, sum(len(f.data) for f in targets))


def test_no_file_when_no_district_has_both_a_file_and_a_ranking():
    assert list(analytics_files(_facts(["9"], STANDINGS))) == []
    assert list(analytics_files(_facts(["1"], {}))) == []
