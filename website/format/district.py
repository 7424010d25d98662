"""`snapshots/{date}/district_{id}.json`: one district's statistics of one date, wrapped, with
the three per-district reports' rows keyed by the published column headers (the division and
area cards and the club page read those rows, not the typed fields)."""

from __future__ import annotations

from typing import Literal

from website.format.base import (
    ClubId,
    DistrictId,
    IsoDate,
    IsoTimestamp,
    Number,
    Omittable,
    SiteModel,
)

# A raw row: published header -> cell. We publish the cells as text, exactly as in the CSV.
RawRow = dict[str, str | Number | None]


class ClubFile(SiteModel):
    clubId: ClubId  # canonical since the site's #1440; the raw rows keep the published form
    clubName: str
    divisionId: str
    areaId: str
    membershipCount: Number
    paymentsCount: Number
    dcpGoals: Number
    status: str
    charterDate: Omittable[str] = None  # ours: ISO (the site's collector never fills it)
    divisionName: str
    areaName: str
    octoberRenewals: Number
    aprilRenewals: Number
    newMembers: Number
    membershipBase: Number
    clubStatus: Omittable[str] = None
    # The site's newest schema: the club report's `CSP` column (2025-26 on) as a boolean.
    cspSubmitted: Omittable[bool] = None


class DivisionFile(SiteModel):
    divisionId: str
    divisionName: str
    clubCount: Number
    membershipTotal: Number
    paymentsTotal: Number


class AreaFile(SiteModel):
    areaId: str
    areaName: str
    divisionId: str
    clubCount: Number
    membershipTotal: Number
    paymentsTotal: Number


class DistrictTotalsFile(SiteModel):
    totalClubs: Number
    totalMembership: Number
    totalPayments: Number
    distinguishedClubs: Number
    selectDistinguishedClubs: Number
    presidentDistinguishedClubs: Number


class DistrictStatisticsFile(SiteModel):
    districtId: DistrictId
    snapshotDate: IsoDate
    clubs: list[ClubFile]
    divisions: list[DivisionFile]
    areas: list[AreaFile]
    totals: DistrictTotalsFile
    divisionPerformance: list[RawRow]
    clubPerformance: list[RawRow]
    districtPerformance: list[RawRow]


class PerDistrictFile(SiteModel):
    """The file itself: the wrapper around the statistics."""

    districtId: DistrictId
    districtName: str
    collectedAt: IsoTimestamp
    status: Literal["success", "failed"]
    errorMessage: Omittable[str] = None
    data: DistrictStatisticsFile
