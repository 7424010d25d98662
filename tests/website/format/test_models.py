"""`website.format`: every file type of a published tree parses under our model of it, and the
models refuse what the site's schemas refuse."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.website.stored import store_day
from tests.website.tree_checks import MODELS, load_tree, model_of
from website.format import SiteFormatError, checked
from website.format.analytics import AnalyticsManifestFile, MetricRankings
from website.format.indexes import LatestFile
from website.format.timeseries import DataPoint
from website.publishing import publish

pytestmark = pytest.mark.django_db


def test_every_file_type_is_published_and_validates_against_its_model(snapshot_root, tmp_path):
    store_day(date(2025, 3, 10), ["42", "F"])
    store_day(date(2025, 3, 31), ["42"])  # a month end, collected in its closing period
    publish(f"file://{tmp_path / 'cdn'}")
    tree = load_tree(tmp_path / "cdn")
    kinds = {model_of(path) for path in tree}
    assert kinds == {model for _, model in MODELS}


def test_an_unknown_field_is_refused_with_the_file_named():
    payload = {"latestSnapshotDate": "2025-03-10", "generatedAt": "2025-03-10T00:00:00.000Z"}
    assert checked(LatestFile, payload, path="v1/latest.json") is payload
    with pytest.raises(SiteFormatError, match=re.escape("v1/latest.json") + ".*extra"):
        checked(LatestFile, {**payload, "extra": 1}, path="v1/latest.json")


@pytest.mark.parametrize(
    "stamp", ["2025-03-10T00:00:00Z", "2025-03-10", "2025-03-10 00:00:00.000Z"]
)
def test_a_timestamp_not_in_the_sites_form_is_refused(stamp):
    with pytest.raises(SiteFormatError, match="generatedAt"):
        checked(
            LatestFile,
            {"latestSnapshotDate": "2025-03-10", "generatedAt": stamp},
            path="v1/latest.json",
        )


def test_a_negative_or_fractional_count_in_a_time_series_point_is_refused():
    point = {
        "date": "2025-03-10",
        "snapshotId": "2025-03-10",
        "membership": 10,
        "payments": 5,
        "dcpGoals": 3,
        "distinguishedTotal": 1,
        "clubCounts": {"total": 2, "thriving": 1, "vulnerable": 1, "interventionRequired": 0},
    }
    checked(DataPoint, point, path="p")
    for field, value in (("membership", -1), ("payments", 1.5)):
        with pytest.raises(SiteFormatError, match=field):
            checked(DataPoint, {**point, field: value}, path="p")


def test_an_analytics_manifest_entry_of_an_unknown_type_or_checksum_is_refused():
    entry = {
        "filename": "district_42_performance-targets.json",
        "districtId": "42",
        "type": "performance-targets",
        "size": 10,
        "checksum": "0" * 64,
    }
    manifest = {
        "snapshotDate": "2025-03-10",
        "generatedAt": "2025-03-10T00:00:00.000Z",
        "schemaVersion": "backfill-1",
        "files": [entry],
        "totalFiles": 1,
        "totalSize": 10,
    }
    checked(AnalyticsManifestFile, manifest, path="m")
    for field, value in (("type", "targets"), ("checksum", "abc")):
        bad = {**manifest, "files": [{**entry, field: value}]}
        with pytest.raises(SiteFormatError, match=f"files.0.{field}"):
            checked(AnalyticsManifestFile, bad, path="m")


def test_a_metric_ranking_may_say_no_rank_but_not_a_negative_one():
    rankings = {
        "worldRank": None,
        "worldPercentile": None,
        "regionRank": None,
        "totalDistricts": 4,
        "totalInRegion": 0,
        "region": None,
    }
    checked(MetricRankings, rankings, path="r")
    with pytest.raises(SiteFormatError, match="worldRank"):
        checked(MetricRankings, {**rankings, "worldRank": -1}, path="r")
