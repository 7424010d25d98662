"""The files without a schema in the site's contracts, modelled on what its front end reads:
`v1/latest.json`, `v1/dates.json`, `v1/rankings.json`, `v1/rank-history/{id}.json`,
`config/district-snapshot-index.json` and `config/club-index.json`."""

from __future__ import annotations

from pydantic import model_validator

from website.format.base import (
    ClubId,
    Count,
    DistrictId,
    IsoDate,
    IsoTimestamp,
    Number,
    Omittable,
    SiteModel,
    ascending,
)
from website.format.snapshot import DistrictRanking


def _ascending(dates: list[str], what: str) -> None:
    if not ascending(dates):
        raise ValueError(f"{what}: dates not strictly ascending")


class LatestFile(SiteModel):
    latestSnapshotDate: IsoDate
    generatedAt: IsoTimestamp


class DatesFile(SiteModel):
    dates: list[IsoDate]
    count: Count
    generatedAt: IsoTimestamp

    @model_validator(mode="after")
    def _counted(self) -> DatesFile:
        _ascending(self.dates, "dates")
        if self.count != len(self.dates):
            raise ValueError("count differs from the dates listed")
        return self


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
    overallRank: Omittable[Count] = None


class RankHistoryFile(SiteModel):
    districtId: DistrictId
    districtName: str
    history: list[RankHistoryPoint]

    @model_validator(mode="after")
    def _in_date_order(self) -> RankHistoryFile:
        _ascending([p.date for p in self.history], "history")
        return self


class DistrictSnapshotIndexFile(SiteModel):
    generatedAt: IsoTimestamp
    districts: dict[DistrictId, list[IsoDate]]

    @model_validator(mode="after")
    def _in_date_order(self) -> DistrictSnapshotIndexFile:
        for district_id, dates in self.districts.items():
            _ascending(dates, f"district {district_id}")
        return self


class ClubIndexEntry(SiteModel):
    districtId: DistrictId
    clubName: str


class ClubIndexFile(SiteModel):
    """Keyed by the canonical club number, as the site's own index since its #1440; the
    snapshot date and the count are optional in the site's reader, always written by its
    pipeline and by us."""

    generatedAt: IsoTimestamp
    snapshotDate: IsoDate
    totalClubs: Count
    clubs: dict[ClubId, ClubIndexEntry]

    @model_validator(mode="after")
    def _counted(self) -> ClubIndexFile:
        if self.totalClubs != len(self.clubs):
            raise ValueError("totalClubs differs from the clubs listed")
        return self
