"""A date's files besides the district files: `manifest.json`, `metadata.json` and
`all-districts-rankings.json` under `snapshots/{date}/`."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, model_validator

from website.format.base import (
    Count,
    DistrictId,
    IsoDate,
    IsoTimestamp,
    Number,
    Omittable,
    SiteModel,
    ours,
)


class ManifestEntry(SiteModel):
    districtId: DistrictId
    fileName: str
    status: Literal["success", "failed"]
    fileSize: Count
    lastModified: IsoTimestamp
    errorMessage: Omittable[str] = None


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
    allDistrictsRankings: Omittable[RankingsFileInfo] = None

    @model_validator(mode="after")
    def _counts_add_up(self) -> SnapshotManifestFile:
        listed = sum(1 for d in self.districts if d.status == "success")
        if self.successfulDistricts != listed:
            raise ValueError("successfulDistricts differs from the districts listed")
        if self.totalDistricts != self.successfulDistricts + self.failedDistricts:
            raise ValueError("totalDistricts is not successfulDistricts + failedDistricts")
        return self


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
    # Present only on a closing-period snapshot (all three, or none: the site's collector
    # omits them otherwise): stored under the month-end date, collected in the next month.
    isClosingPeriodData: Omittable[bool] = None
    collectionDate: Omittable[IsoDate] = None
    logicalDate: Omittable[IsoDate] = None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SnapshotMetadataFile:
        if not ours(info):  # the site's older metadata is read as its schema allows
            return self
        if self.isClosingPeriodData is False:
            raise ValueError("isClosingPeriodData is left out, never false")
        closing = (self.isClosingPeriodData, self.collectionDate, self.logicalDate)
        if any(v is None for v in closing) and any(v is not None for v in closing):
            raise ValueError("isClosingPeriodData, collectionDate and logicalDate go together")
        if self.dataAsOfDate != self.snapshotId or self.logicalDate not in (None, self.snapshotId):
            raise ValueError("dataAsOfDate and logicalDate are the snapshot's own date")
        if self.collectionDate is not None and self.collectionDate <= self.snapshotId:
            raise ValueError("a closing period is collected after the month end it is stored under")
        status = "success" if not self.failedDistricts else "partial"
        if not self.successfulDistricts and self.failedDistricts:
            status = "failed"
        if self.status != status:
            raise ValueError(f"status {self.status!r} where the districts say {status!r}")
        listed = set(self.successfulDistricts) | set(self.failedDistricts)
        if set(self.configuredDistricts) != listed:
            raise ValueError("configuredDistricts is not successful + failed districts")
        return self


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
    smedleyDistinguished: Omittable[Number] = None
    dspSubmitted: Omittable[bool] = None
    trainingMet: Omittable[bool] = None
    marketAnalysisSubmitted: Omittable[bool] = None
    communicationPlanSubmitted: Omittable[bool] = None
    regionAdvisorVisitMet: Omittable[bool] = None


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

    @model_validator(mode="after")
    def _every_district_counted(self) -> AllDistrictsRankingsFile:
        if self.metadata.totalDistricts != len(self.rankings):
            raise ValueError("metadata.totalDistricts differs from the rankings listed")
        if self.metadata.sourceCsvDate < self.metadata.snapshotId:
            raise ValueError("sourceCsvDate (the summary's as-of day) before the snapshot's date")
        return self
