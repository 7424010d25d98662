"""`time-series/district_{id}/index-metadata.json` and `time-series/district_{id}/{program
year}.json`: a district's data points, one file per program year (July to June)."""

from __future__ import annotations

from pydantic import Field, model_validator

from website.format.base import (
    Count,
    DistrictId,
    IsoDate,
    IsoTimestamp,
    ProgramYear,
    SiteModel,
    ascending,
)


class ClubHealthCounts(SiteModel):
    total: Count
    thriving: Count
    vulnerable: Count
    interventionRequired: Count

    @model_validator(mode="after")
    def _every_club_once(self) -> ClubHealthCounts:
        if self.total != self.thriving + self.vulnerable + self.interventionRequired:
            raise ValueError("total is not thriving + vulnerable + interventionRequired")
        return self


class DataPoint(SiteModel):
    date: IsoDate
    snapshotId: str = Field(min_length=1)
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

    @model_validator(mode="after")
    def _one_program_year(self) -> ProgramYearFile:
        start = int(self.programYear[:4])
        if self.programYear != f"{start}-{start + 1}":
            raise ValueError("programYear is not two consecutive years")
        if (self.startDate, self.endDate) != (f"{start}-07-01", f"{start + 1}-06-30"):
            raise ValueError("startDate/endDate are not July 1 and June 30 of the program year")
        dates = [p.date for p in self.dataPoints]
        if not ascending(dates):
            raise ValueError("dataPoints not in strictly ascending date order")
        if dates and not (self.startDate <= dates[0] and dates[-1] <= self.endDate):
            raise ValueError("a data point outside the program year")
        if self.summary.totalDataPoints != len(dates):
            raise ValueError("summary.totalDataPoints differs from the data points")
        return self


class IndexMetadataFile(SiteModel):
    districtId: DistrictId
    lastUpdated: IsoTimestamp
    availableProgramYears: list[ProgramYear]
    totalDataPoints: Count

    @model_validator(mode="after")
    def _years_in_order(self) -> IndexMetadataFile:
        if not ascending(self.availableProgramYears):
            raise ValueError("availableProgramYears not strictly ascending")
        return self
