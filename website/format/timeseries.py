"""`time-series/district_{id}/index-metadata.json` and `time-series/district_{id}/{program
year}.json`: a district's data points, one file per program year (July to June)."""

from __future__ import annotations

from website.format.base import Count, DistrictId, IsoDate, IsoTimestamp, ProgramYear, SiteModel


class ClubHealthCounts(SiteModel):
    total: Count
    thriving: Count
    vulnerable: Count
    interventionRequired: Count


class DataPoint(SiteModel):
    date: IsoDate
    snapshotId: str
    membership: Count
    payments: Count
    dcpGoals: Count
    distinguishedTotal: Count
    clubCounts: ClubHealthCounts


class ProgramYearSummary(SiteModel):
    totalDataPoints: Count
    membershipStart: Count
    membershipEnd: Count
    membershipPeak: Count
    membershipLow: Count


class ProgramYearFile(SiteModel):
    districtId: DistrictId
    programYear: ProgramYear
    startDate: IsoDate
    endDate: IsoDate
    lastUpdated: IsoTimestamp
    dataPoints: list[DataPoint]
    summary: ProgramYearSummary


class IndexMetadataFile(SiteModel):
    districtId: DistrictId
    lastUpdated: IsoTimestamp
    availableProgramYears: list[ProgramYear]
    totalDataPoints: Count
