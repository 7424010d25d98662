"""The newest date's pre-computed district analytics (`snapshots/{date}/analytics/`): per
district with a district file, `district_{id}_analytics.json` (the district's clubs, their
health and trends over the program year, division and area rankings: `website.tree.
district_analytics`) and, when the district has a place in the date's rankings,
`district_{id}_performance-targets.json` (the district page's target card: each metric's world
rank and percentile, region rank, and current figure); then the `manifest.json` listing exactly
them.

The targets are built from our rankings (`Standing`, DOMAIN.md section 8), not analytics-core's:
a category without a value has no rank (None) here, and a figure the source did not publish is
0 as in the other files. The other analytics types and `competitive-awards.json` are not
published (README, *Not filled*)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any

from analytics.documents import RANKING_CATEGORIES, competition_ranks
from districts.ids import district_sort_key, site_district_id
from snapshots import store
from website.format.analytics import AnalyticsManifestFile, PerformanceTargetsFile
from website.format.base import SiteModel
from website.format.district_analytics import DistrictAnalyticsFile
from website.tree.district_analytics import (
    DISTRICT_ANALYTICS,
    district_analytics_data,
    program_year_series,
)
from website.tree.encoding import SiteFile, encoded, site_file, stamp
from website.tree.facts import DateFacts
from website.tree.rankings import SCHEMA_VERSION, Standing

PERFORMANCE_TARGETS = "performance-targets"
# The site's metric of each ranking category (analytics-core's MetricRankingsCalculator maps
# club growth to paid clubs, payment growth to membership payments).
_METRICS = dict(
    zip(
        RANKING_CATEGORIES,
        ("paidClubsRankings", "membershipPaymentsRankings", "distinguishedClubsRankings"),
        strict=True,
    )
)
# A region the summary names as such; analytics-core ranks no district of an unknown region.
_NO_REGION = ("", "Unknown")


def analytics_dir(facts: DateFacts) -> str:
    return f"snapshots/{facts.day.isoformat()}/analytics"


def _n(value: int | float | None) -> int | float:
    return 0 if value is None else value


def world_percentile(rank: int | None, total: int) -> float | None:
    """(total - rank) / total x 100, rounded half up to 1 decimal as the site does; None
    without a rank or with fewer than 2 districts."""
    if rank is None or total <= 1:
        return None
    return math.floor((total - rank) / total * 1000 + 0.5) / 10


def _region_ranks(standings: dict[str, Standing], region: str, category: str) -> dict:
    """Competition ranks of the region's districts on the category's value (None: no value)."""
    return competition_ranks(
        {d: s.values[category] for d, s in standings.items() if s.region == region}
    )


def _rankings(standings: dict[str, Standing], district_id: str, category: str) -> dict:
    standing = standings[district_id]
    rank = standing.ranks[category]
    region = standing.region if standing.region not in (None, *_NO_REGION) else None
    in_region = _region_ranks(standings, region, category) if region is not None else {}
    return {
        "worldRank": rank,
        "worldPercentile": world_percentile(rank, len(standings)),
        "regionRank": in_region.get(district_id),
        "totalDistricts": len(standings),
        "totalInRegion": len(in_region),
        "region": region,
    }


def _targets_data(facts: DateFacts, district_id: str) -> dict[str, Any]:
    standing = facts.standings[district_id]
    progress: dict[str, Any] = {
        "membership": _n(standing.payments),
        "distinguished": _n(standing.distinguished_clubs),
    }
    if standing.paid_clubs is not None and standing.paid_club_base is not None:
        progress["clubGrowth"] = standing.paid_clubs - standing.paid_club_base
    data: dict[str, Any] = {
        "districtId": site_district_id(district_id),
        "computedAt": stamp(facts.day),
        "paidClubsCount": _n(standing.paid_clubs),
        "currentProgress": progress,
    }
    for category, field in _METRICS.items():
        data[field] = _rankings(facts.standings, district_id, category)
    if standing.paid_club_base is not None:
        data["paidClubsBase"] = standing.paid_club_base
    if standing.payment_base is not None:
        data["membershipPaymentsBase"] = standing.payment_base
    return data


def _analytics_file(
    facts: DateFacts, district_id: str, kind: str, model: type[SiteModel], data: dict[str, Any]
) -> tuple[SiteFile, dict[str, Any]]:
    """The district's file of type `kind` and its manifest entry (the checksum of its `data`,
    which the file's metadata repeats)."""
    checksum = hashlib.sha256(encoded(data)).hexdigest()
    payload = {
        "metadata": {
            "schemaVersion": SCHEMA_VERSION,
            "computedAt": stamp(facts.day),
            "snapshotDate": facts.day.isoformat(),
            "districtId": site_district_id(district_id),
            "checksum": checksum,
        },
        "data": data,
    }
    name = f"district_{site_district_id(district_id)}_{kind}.json"
    file = site_file(f"{analytics_dir(facts)}/{name}", model, payload)
    entry = {
        "filename": name,
        "districtId": site_district_id(district_id),
        "type": kind,
        "size": len(file.data),
        "checksum": checksum,
    }
    return file, entry


def analytics_files(facts: DateFacts) -> Iterator[SiteFile]:
    """The analytics files of the date of `facts` (the newest published date), district by
    district as they are built, the manifest last; none when no district of the date has a
    full-detail file readable from the store nor a place in the rankings."""
    stored = store.stored_dates()
    entries = []
    for district_id in sorted(facts.district_ids, key=district_sort_key):
        built = []
        series = program_year_series(facts.day, district_id, stored)
        if series is not None:
            data = district_analytics_data(series)
            built.append(
                _analytics_file(facts, district_id, DISTRICT_ANALYTICS, DistrictAnalyticsFile, data)
            )
        if district_id in facts.standings:
            data = _targets_data(facts, district_id)
            built.append(
                _analytics_file(
                    facts, district_id, PERFORMANCE_TARGETS, PerformanceTargetsFile, data
                )
            )
        for file, entry in built:
            entries.append(entry)
            yield file
    if not entries:
        return
    manifest = {
        "snapshotDate": facts.day.isoformat(),
        "generatedAt": stamp(facts.day),
        "schemaVersion": SCHEMA_VERSION,
        "files": entries,
        "totalFiles": len(entries),
        "totalSize": sum(e["size"] for e in entries),
    }
    path = f"{analytics_dir(facts)}/manifest.json"
    yield site_file(path, AnalyticsManifestFile, manifest)
