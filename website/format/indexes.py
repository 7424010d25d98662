"""The files without a schema in the site's contracts, modelled on what its front end reads:
`v1/latest.json`, `v1/dates.json`, `v1/rankings.json`, `v1/rank-history/{id}.json`,
`config/district-snapshot-index.json` and `config/club-index.json`."""

from __future__ import annotations

from website.format.base import Count, DistrictId, IsoDate, IsoTimestamp, Number, SiteModel
from website.format.snapshot import DistrictRanking


class LatestFile(SiteModel):
    latestSnapshotDate: IsoDate
    generatedAt: IsoTimestamp


class DatesFile(SiteModel):
    dates: list[IsoDate]
    count: Count
    generatedAt: IsoTimestamp


class RankingsFile(SiteModel):
    rankings: list[DistrictRanking]
    date: IsoDate
    generatedAt: IsoTimestamp


class RankHistoryPoint(SiteModel):
    date: IsoDate
    aggregateScore: Number
    clubsRank: Count
    paymentsRank: Count
    distinguishedRank: Count
    totalDistricts: Count
    overallRank: Count | None = None


class RankHistoryFile(SiteModel):
    districtId: DistrictId
    districtName: str
    history: list[RankHistoryPoint]


class DistrictSnapshotIndexFile(SiteModel):
    generatedAt: IsoTimestamp
    districts: dict[DistrictId, list[IsoDate]]


class ClubIndexEntry(SiteModel):
    districtId: DistrictId
    clubName: str


class ClubIndexFile(SiteModel):
    generatedAt: IsoTimestamp
    clubs: dict[str, ClubIndexEntry]
