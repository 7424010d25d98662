"""The pre-computed district analytics under `snapshots/{date}/analytics/`: each file is
`{metadata, data}` (`district_{id}_{type}.json`), and `manifest.json` lists them. Modelled on
the site's collector (`AnalyticsWriter`) and on what its pages read; we publish the
`analytics` type (`website.format.district_analytics`) and the `performance-targets` type
(README, *Publishing to the district-statistics site*)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from website.format.base import (
    Count,
    DistrictId,
    IsoDate,
    IsoTimestamp,
    Number,
    Omittable,
    SiteModel,
)

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
RecognitionLevel = Literal["distinguished", "select", "presidents", "smedley"]
# The types the site's collector writes; the manifest names a file by one of them.
AnalyticsType = Literal[
    "analytics",
    "membership",
    "clubhealth",
    "rankings",
    "membership-analytics",
    "vulnerable-clubs",
    "leadership-insights",
    "distinguished-analytics",
    "year-over-year",
    "performance-targets",
    "club-trends-index",
]


class AnalyticsMetadata(SiteModel):
    schemaVersion: str
    computedAt: IsoTimestamp
    snapshotDate: IsoDate
    districtId: DistrictId
    checksum: Sha256  # of the `data` object's JSON text
    sourceSnapshotChecksum: Omittable[Sha256] = None


class MetricRankings(SiteModel):
    """A metric's standing: None where there is no rank (no value, no region)."""

    worldRank: Count | None
    worldPercentile: Number | None
    regionRank: Count | None
    totalDistricts: Count
    totalInRegion: Count
    region: str | None


class CurrentProgress(SiteModel):
    membership: Number  # the district's total payments, which the page shows as such
    distinguished: Number
    clubGrowth: Omittable[Number] = None


class RecognitionTargets(SiteModel):
    distinguished: Number
    select: Number
    presidents: Number
    smedley: Number


class ProjectedAchievement(SiteModel):
    membership: bool
    distinguished: bool
    clubGrowth: bool


class PerformanceTargetsData(SiteModel):
    """`data` of `district_{id}_performance-targets.json`. The page (`usePerformanceTargets`)
    reads `paidClubsCount`, `currentProgress.membership` and `.distinguished`, the three
    rankings, and optionally the bases, targets and achieved levels; the other fields of the
    site's type (the three `*Target` figures, `projectedAchievement`) no page reads."""

    districtId: DistrictId
    computedAt: IsoTimestamp
    paidClubsCount: Number
    currentProgress: CurrentProgress
    paidClubsRankings: MetricRankings
    membershipPaymentsRankings: MetricRankings
    distinguishedClubsRankings: MetricRankings
    membershipTarget: Omittable[Number] = None
    distinguishedTarget: Omittable[Number] = None
    clubGrowthTarget: Omittable[Number] = None
    projectedAchievement: Omittable[ProjectedAchievement] = None
    paidClubsBase: Omittable[Number] = None
    membershipPaymentsBase: Omittable[Number] = None
    distinguishedClubsBase: Omittable[Number] = None
    paidClubsTargets: Omittable[RecognitionTargets] = None
    membershipPaymentsTargets: Omittable[RecognitionTargets] = None
    distinguishedClubsTargets: Omittable[RecognitionTargets] = None
    paidClubsAchievedLevel: Omittable[RecognitionLevel] = None
    membershipPaymentsAchievedLevel: Omittable[RecognitionLevel] = None
    distinguishedClubsAchievedLevel: Omittable[RecognitionLevel] = None


class PerformanceTargetsFile(SiteModel):
    metadata: AnalyticsMetadata
    data: PerformanceTargetsData


class AnalyticsManifestEntry(SiteModel):
    filename: str
    districtId: DistrictId
    type: AnalyticsType
    size: Count
    checksum: Sha256  # the file's `metadata.checksum`


class AnalyticsManifestFile(SiteModel):
    snapshotDate: IsoDate
    generatedAt: IsoTimestamp
    schemaVersion: str
    files: list[AnalyticsManifestEntry]
    totalFiles: Count
    totalSize: Count
