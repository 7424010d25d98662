"""The cross-file facts a published tree must hold, checked on a directory: every file parses
under our model of its kind, each manifest lists exactly its date's district files, every index
names only files that exist, ranks run 1..n with ties shared, program years run July to June."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from website.format.analytics import AnalyticsManifestFile, PerformanceTargetsFile
from website.format.base import OURS
from website.format.district import PerDistrictFile
from website.format.district_analytics import DistrictAnalyticsFile
from website.format.indexes import (
    ClubIndexFile,
    DatesFile,
    DistrictSnapshotIndexFile,
    LatestFile,
    RankHistoryFile,
    RankingsFile,
)
from website.format.snapshot import (
    AllDistrictsRankingsFile,
    SnapshotManifestFile,
    SnapshotMetadataFile,
)
from website.format.timeseries import IndexMetadataFile, ProgramYearFile
from website.tree.encoding import encoded

MODELS = (
    (r"snapshots/[0-9-]{10}/district_[A-Z0-9]+\.json", PerDistrictFile),
    (r"snapshots/[0-9-]{10}/manifest\.json", SnapshotManifestFile),
    (r"snapshots/[0-9-]{10}/metadata\.json", SnapshotMetadataFile),
    (r"snapshots/[0-9-]{10}/all-districts-rankings\.json", AllDistrictsRankingsFile),
    (r"snapshots/[0-9-]{10}/analytics/manifest\.json", AnalyticsManifestFile),
    (
        r"snapshots/[0-9-]{10}/analytics/district_[A-Z0-9]+_performance-targets\.json",
        PerformanceTargetsFile,
    ),
    (r"snapshots/[0-9-]{10}/analytics/district_[A-Z0-9]+_analytics\.json", DistrictAnalyticsFile),
    (r"time-series/district_[A-Z0-9]+/index-metadata\.json", IndexMetadataFile),
    (r"time-series/district_[A-Z0-9]+/\d{4}-\d{4}\.json", ProgramYearFile),
    (r"v1/latest\.json", LatestFile),
    (r"v1/dates\.json", DatesFile),
    (r"v1/rankings\.json", RankingsFile),
    (r"v1/rank-history/[A-Z0-9]+\.json", RankHistoryFile),
    (r"config/district-snapshot-index\.json", DistrictSnapshotIndexFile),
    (r"config/club-index\.json", ClubIndexFile),
)


def model_of(path: str):
    for pattern, model in MODELS:
        if re.fullmatch(pattern, path):
            return model
    raise AssertionError(f"{path}: no file of the site has this name")


def load_tree(root: Path) -> dict[str, Any]:
    """path -> parsed JSON of every file under `root`, each validated against its model."""
    tree = {}
    for file in sorted(root.rglob("*")):
        if file.is_file():
            path = str(file.relative_to(root))
            tree[path] = json.loads(file.read_bytes())
            model_of(path).model_validate(tree[path], context=OURS)
    return tree


def _check_ranks(rows: list[dict[str, Any]]) -> None:
    n = len(rows)
    scores = [r["aggregateScore"] for r in rows]
    for row in rows:
        assert row["overallRank"] == 1 + sum(s > row["aggregateScore"] for s in scores)
        for field, value in (
            ("clubsRank", "clubGrowthPercent"),
            ("paymentsRank", "paymentGrowthPercent"),
            ("distinguishedRank", "distinguishedPercent"),
        ):
            assert 1 <= row[field] <= n
            tied = [r for r in rows if r[value] == row[value]]
            assert len({r[field] for r in tied}) == 1, f"{field} differs among ties"
    assert [r["overallRank"] for r in rows] == sorted(r["overallRank"] for r in rows)


def _check_analytics(root: Path, tree: dict[str, Any], day: str) -> None:
    """The date's analytics manifest lists exactly the analytics files present, with their
    sizes and data checksums; each file agrees with the date's other files."""
    directory = root / "snapshots" / day / "analytics"
    manifest = tree[f"snapshots/{day}/analytics/manifest.json"]
    listed = {e["filename"]: (e["size"], e["checksum"]) for e in manifest["files"]}
    present = {
        p.name: (p.stat().st_size, tree[str(p.relative_to(root))]["metadata"]["checksum"])
        for p in directory.glob("district_*.json")
    }
    assert listed == present, f"{day}: analytics manifest and analytics files differ"
    assert manifest["totalFiles"] == len(listed)
    assert manifest["totalSize"] == sum(size for size, _ in listed.values())
    for name in present:
        data = tree[f"snapshots/{day}/analytics/{name}"]["data"]
        digest = hashlib.sha256(encoded(data)).hexdigest()
        assert digest == listed[name][1], f"{name}: checksum is not its data's"
        assert f"snapshots/{day}/district_{data['districtId']}.json" in tree
        if name.endswith("_analytics.json"):
            _check_district_analytics(tree, day, data)
        else:
            _check_targets(tree, day, data)


def _check_targets(tree: dict[str, Any], day: str, data: dict[str, Any]) -> None:
    """The ranks of a performance-targets file are those of the date's rankings."""
    rows = {
        r["districtId"]: r for r in tree[f"snapshots/{day}/all-districts-rankings.json"]["rankings"]
    }
    row = rows[data["districtId"]]
    for metric, rank in (
        ("paidClubsRankings", "clubsRank"),
        ("membershipPaymentsRankings", "paymentsRank"),
        ("distinguishedClubsRankings", "distinguishedRank"),
    ):
        standing = data[metric]
        assert standing["totalDistricts"] == len(rows)
        assert standing["worldRank"] in (None, row[rank])
        if standing["regionRank"] is not None:
            assert 1 <= standing["regionRank"] <= standing["totalInRegion"]


def _check_district_analytics(tree: dict[str, Any], day: str, data: dict[str, Any]) -> None:
    """A district analytics file lists exactly the district file's clubs; its health lists
    count the time series' `clubCounts` of the date; its trends end on the date."""
    district_id = data["districtId"]
    district = tree[f"snapshots/{day}/district_{district_id}.json"]["data"]
    assert [c["clubId"] for c in data["allClubs"]] == [c["clubId"] for c in district["clubs"]]
    year = int(day[:4]) if int(day[5:7]) >= 7 else int(day[:4]) - 1
    series = tree[f"time-series/district_{district_id}/{year}-{year + 1}.json"]
    point = next(p for p in series["dataPoints"] if p["date"] == day)
    counts = point["clubCounts"]
    assert counts == {
        "total": len(data["allClubs"]),
        "thriving": len(data["thrivingClubs"]),
        "vulnerable": len(data["vulnerableClubs"]),
        "interventionRequired": len(data["interventionRequiredClubs"]),
    }
    assert data["totalMembership"] == point["membership"]
    assert data["distinguishedClubs"]["total"] == point["distinguishedTotal"]
    assert data["dateRange"]["end"] == day and data["membershipTrend"][-1]["date"] == day
    for club in data["allClubs"]:
        assert club["membershipTrend"][-1] == {"date": day, "count": club["membershipCount"]}
    ranks = [d["rank"] for d in data["divisionRankings"]]
    assert ranks == list(range(1, len(ranks) + 1))
    scores = [d["score"] for d in data["divisionRankings"]]
    assert scores == sorted(scores, reverse=True)


# The site's form of a district id, in every file and path: `02`, `42`, `128`, `F`.
SITE_DISTRICT_ID = re.compile(r"\d{2,3}|[A-Z]")


def _district_ids(value: Any) -> list[str]:
    """Every `districtId` value and `district_{id}` name anywhere in a parsed file."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "districtId":
                found.append(item)
            found.extend(_district_ids(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_district_ids(item))
    return found


def check_tree(root: Path) -> dict[str, Any]:
    """Assert every cross-file fact of the tree under `root`; returns the parsed tree."""
    tree = load_tree(root)
    for path, content in tree.items():
        named = re.findall(r"district_([A-Za-z0-9]+)|rank-history/([A-Za-z0-9]+)", path)
        named = [a or b for a, b in named]
        if path == "config/district-snapshot-index.json":
            named.extend(content["districts"])
        for district_id in [*named, *_district_ids(content)]:
            assert SITE_DISTRICT_ID.fullmatch(district_id), f"{path}: district {district_id!r}"
    dates = tree["v1/dates.json"]["dates"]
    assert dates == sorted(set(dates)) and tree["v1/dates.json"]["count"] == len(dates)
    assert tree["v1/latest.json"]["latestSnapshotDate"] == dates[-1]
    for day in dates:
        manifest = tree[f"snapshots/{day}/manifest.json"]
        listed = {e["fileName"]: e["fileSize"] for e in manifest["districts"]}
        present = {
            p.name: p.stat().st_size for p in (root / "snapshots" / day).glob("district_*.json")
        }
        assert listed == present, f"{day}: manifest and district files differ"
        assert manifest["totalDistricts"] == len(listed)
        rankings = f"snapshots/{day}/all-districts-rankings.json"
        info = manifest["allDistrictsRankings"]
        assert (info["status"] == "present") == (rankings in tree)
        if rankings in tree:
            assert info["size"] == (root / rankings).stat().st_size
            _check_ranks(tree[rankings]["rankings"])
        if (root / "snapshots" / day / "analytics").exists():
            _check_analytics(root, tree, day)
        metadata = tree[f"snapshots/{day}/metadata.json"]
        assert metadata["successfulDistricts"] == [e["districtId"] for e in manifest["districts"]]
    snapshot_dirs = {p.name for p in (root / "snapshots").iterdir()}
    assert snapshot_dirs == set(dates), "a date directory that no index names"
    index = tree["config/district-snapshot-index.json"]["districts"]
    for district_id, days in index.items():
        for day in days:
            assert f"snapshots/{day}/district_{district_id}.json" in tree
    for path, content in tree.items():
        if path.endswith("index-metadata.json"):
            directory = path.rsplit("/", 1)[0]
            years = content["availableProgramYears"]
            total = 0
            for year in years:
                series = tree[f"{directory}/{year}.json"]
                start = int(year[:4])
                assert year == f"{start}-{start + 1}"
                assert (series["startDate"], series["endDate"]) == (
                    f"{start}-07-01",
                    f"{start + 1}-06-30",
                )
                points = [p["date"] for p in series["dataPoints"]]
                assert points == sorted(points)
                assert all(series["startDate"] <= d <= series["endDate"] for d in points)
                for day in points:
                    assert f"snapshots/{day}/district_{content['districtId']}.json" in tree
                total += len(points)
            assert content["totalDataPoints"] == total
        if path.startswith("v1/rank-history/"):
            for point in content["history"]:
                assert f"snapshots/{point['date']}/all-districts-rankings.json" in tree
    if "v1/rankings.json" in tree:
        # The newest date's rankings, dated as the site's pipeline dates them: the summary's
        # as-of day (`sourceCsvDate`), a day after the month end for a closing period.
        newest = max(p for p in tree if p.endswith("/all-districts-rankings.json"))
        current = tree["v1/rankings.json"]
        assert current["date"] == tree[newest]["metadata"]["sourceCsvDate"]
        assert current["rankings"] == tree[newest]["rankings"]
    for number, club in tree["config/club-index.json"]["clubs"].items():
        assert club["districtId"] in index, f"club {number} in a district without files"
    return tree
