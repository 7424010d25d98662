"""`snapshots/{date}/analytics/district_{id}_analytics.json`: the district's analytics, which the
site's `useDistrictAnalytics` fetches (type `analytics`) and the district overview (the
intervention and vulnerable panels, the distinguished progress chart), the clubs table, the
club detail and the top-growth card read. Modelled on analytics-core's `DistrictAnalytics` (what
the site's collector writes) and the front end's `ClubTrend`; every field the type requires is
here, and of its optional fields only those we fill (README, *Publishing to the
district-statistics site*)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from website.format.analytics import AnalyticsMetadata
from website.format.base import (
    ClubId,
    Count,
    DistrictId,
    IsoDate,
    Number,
    Omittable,
    SiteModel,
)

HealthStatus = Literal["thriving", "vulnerable", "intervention-required"]
DistinguishedLevel = Literal["NotDistinguished", "Smedley", "President", "Select", "Distinguished"]


class DateRange(SiteModel):
    start: IsoDate
    end: IsoDate


class MembershipPoint(SiteModel):
    date: IsoDate
    count: Count


class PaymentsPoint(SiteModel):
    date: IsoDate
    payments: Count


class GoalsPoint(SiteModel):
    date: IsoDate
    goalsAchieved: Count


class ClubTrend(SiteModel):
    """One club: its figures of the date and its trends over the program year's dates."""

    clubId: ClubId
    clubName: str
    divisionId: str
    divisionName: str
    areaId: str
    areaName: str
    currentStatus: HealthStatus
    healthScore: Number
    membershipCount: Number
    paymentsCount: Number
    membershipTrend: list[MembershipPoint]
    dcpGoalsTrend: list[GoalsPoint]
    riskFactors: list[str]
    distinguishedLevel: DistinguishedLevel
    membershipBase: Omittable[Number] = None
    octoberRenewals: Omittable[Number] = None
    aprilRenewals: Omittable[Number] = None
    newMembers: Omittable[Number] = None
    clubStatus: Omittable[str] = None
    charterDate: Omittable[IsoDate] = None


class DistinguishedCounts(SiteModel):
    smedley: Count
    presidents: Count
    select: Count
    distinguished: Count
    total: Count


class DistinguishedClub(SiteModel):
    clubId: ClubId
    clubName: str
    status: Literal["smedley", "president", "select", "distinguished", "none"]
    dcpPoints: Count
    goalsCompleted: Count


class DistinguishedProjection(SiteModel):
    projectedDistinguished: Count  # analytics-core: the thriving clubs
    currentDistinguished: Count
    currentSelect: Count
    currentPresident: Count
    projectionDate: IsoDate


class DivisionRanking(SiteModel):
    divisionId: str
    divisionName: str
    rank: Annotated[int, Field(ge=1, strict=True)]
    score: Number
    clubCount: Count
    membershipTotal: Count


class AreaPerformance(SiteModel):
    areaId: str
    areaName: str
    divisionId: str
    score: Number
    clubCount: Count
    membershipTotal: Count


class GrowthClub(SiteModel):
    clubId: ClubId
    clubName: str
    growth: Annotated[int, Field(gt=0, strict=True)]


class DistrictAnalyticsData(SiteModel):
    """`data` of the file. `prospectiveClubs` (Find-A-Club registry entries) is always empty:
    we hold no registry data."""

    districtId: DistrictId
    dateRange: DateRange
    totalMembership: Count
    membershipChange: int
    memberCountChange: int
    membershipTrend: list[MembershipPoint]
    paymentsTrend: list[PaymentsPoint]
    allClubs: list[ClubTrend]
    vulnerableClubs: list[ClubTrend]
    thrivingClubs: list[ClubTrend]
    interventionRequiredClubs: list[ClubTrend]
    distinguishedClubs: DistinguishedCounts
    distinguishedClubsList: list[DistinguishedClub]
    distinguishedProjection: DistinguishedProjection
    divisionRankings: list[DivisionRanking]
    topPerformingAreas: Annotated[list[AreaPerformance], Field(max_length=10)]
    topGrowthClubs: Annotated[list[GrowthClub], Field(max_length=10)]
    prospectiveClubs: Annotated[list[dict[str, Any]], Field(max_length=0)]


class DistrictAnalyticsFile(SiteModel):
    metadata: AnalyticsMetadata
    data: DistrictAnalyticsData
