"""A date's files besides the district files: `manifest.json`, `metadata.json` and
`all-districts-rankings.json` under `snapshots/{date}/`."""

from __future__ import annotations

from typing import Literal

from website.format.base import Count, DistrictId, IsoDate, IsoTimestamp, Number, SiteModel


class ManifestEntry(SiteModel):
    districtId: DistrictId
    fileName: str
    status: Literal["success", "failed"]
    fileSize: Count
    lastModified: IsoTimestamp
    errorMessage: str | None = None


class RankingsFileInfo(SiteModel):
    filename: str
    size: Count
    status: Literal["present", "missing"]


class SnapshotManifestFile(SiteModel):
    snapshotId: IsoDate
    createdAt: IsoTimestamp
    districts: list[ManifestEntry]
    totalDistricts: Count
    successfulDistricts: Count
    failedDistricts: Count
    allDistrictsRankings: RankingsFileInfo | None = None


class SnapshotMetadataFile(SiteModel):
    snapshotId: IsoDate
    createdAt: IsoTimestamp
    schemaVersion: str
    calculationVersion: str
    status: Literal["success", "partial", "failed"]
    configuredDistricts: list[DistrictId]
    successfulDistricts: list[DistrictId]
    failedDistricts: list[DistrictId]
    errors: list[str]
    processingDuration: Number
    source: str
    dataAsOfDate: IsoDate
    # Present only on a closing-period snapshot: stored under the month-end date, collected
    # on a day of the next month.
    isClosingPeriodData: bool | None = None
    collectionDate: IsoDate | None = None
    logicalDate: IsoDate | None = None


class DistrictRanking(SiteModel):
    districtId: DistrictId
    districtName: str
    region: str
    paidClubs: Number
    paidClubBase: Number
    clubGrowthPercent: Number
    totalPayments: Number
    paymentBase: Number
    paymentGrowthPercent: Number
    activeClubs: Number
    distinguishedClubs: Number
    selectDistinguished: Number
    presidentsDistinguished: Number
    distinguishedPercent: Number
    clubsRank: Count
    paymentsRank: Count
    distinguishedRank: Count
    aggregateScore: Number
    overallRank: Count
    smedleyDistinguished: Number | None = None
    dspSubmitted: bool | None = None
    trainingMet: bool | None = None
    marketAnalysisSubmitted: bool | None = None
    communicationPlanSubmitted: bool | None = None
    regionAdvisorVisitMet: bool | None = None


class RankingsMetadata(SiteModel):
    snapshotId: IsoDate
    calculatedAt: IsoTimestamp
    schemaVersion: str
    calculationVersion: str
    rankingVersion: str
    sourceCsvDate: IsoDate
    csvFetchedAt: IsoTimestamp
    totalDistricts: Count
    fromCache: bool


class AllDistrictsRankingsFile(SiteModel):
    metadata: RankingsMetadata
    rankings: list[DistrictRanking]
