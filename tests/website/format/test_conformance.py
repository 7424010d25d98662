"""The models against the site's zod schemas, field by field: what zod refuses we refuse (a
`null` where zod says `.optional()`), what the site's newest schema adds we accept on reading
(`cspSubmitted`), and the rules that hold for our own files only (`checked`: canonical club
ids, counts that add up, the closing-period fields together) do not refuse the site's older
files an import reads."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from website.format import SiteFormatError, checked
from website.format.base import SiteModel
from website.format.district import ClubFile, PerDistrictFile
from website.format.indexes import (
    ClubIndexFile,
    DatesFile,
    DistrictSnapshotIndexFile,
    RankHistoryFile,
)
from website.format.snapshot import (
    AllDistrictsRankingsFile,
    SnapshotManifestFile,
    SnapshotMetadataFile,
)
from website.format.timeseries import ClubHealthCounts, IndexMetadataFile, ProgramYearFile

STAMP = "2025-03-11T00:00:00.000Z"

CLUB = {
    "clubId": "396",
    "clubName": "Evergreen",
    "divisionId": "A",
    "areaId": "01",
    "membershipCount": 21,
    "paymentsCount": 31,
    "dcpGoals": 2,
    "status": "Active",
    "divisionName": "Division A",
    "areaName": "Area 01",
    "octoberRenewals": 15,
    "aprilRenewals": 10,
    "newMembers": 4,
    "membershipBase": 23,
}
DISTRICT_FILE = {
    "districtId": "42",
    "districtName": "District 42",
    "collectedAt": STAMP,
    "status": "success",
    "data": {
        "districtId": "42",
        "snapshotDate": "2025-03-11",
        "clubs": [CLUB],
        "divisions": [],
        "areas": [],
        "totals": {
            "totalClubs": 1,
            "totalMembership": 21,
            "totalPayments": 31,
            "distinguishedClubs": 0,
            "selectDistinguishedClubs": 0,
            "presidentDistinguishedClubs": 0,
        },
        "divisionPerformance": [],
        "clubPerformance": [{"Club Number": "00000396", "Club Distinguished Status": None}],
        "districtPerformance": [],
    },
}
ENTRY = {
    "districtId": "42",
    "fileName": "district_42.json",
    "status": "success",
    "fileSize": 10,
    "lastModified": STAMP,
}
MANIFEST = {
    "snapshotId": "2025-03-11",
    "createdAt": STAMP,
    "districts": [ENTRY],
    "totalDistricts": 1,
    "successfulDistricts": 1,
    "failedDistricts": 0,
}
METADATA = {
    "snapshotId": "2025-02-28",
    "createdAt": STAMP,
    "schemaVersion": "backfill-1",
    "calculationVersion": "backfill-1",
    "status": "success",
    "configuredDistricts": ["42"],
    "successfulDistricts": ["42"],
    "failedDistricts": [],
    "errors": [],
    "processingDuration": 0,
    "source": "backfill",
    "dataAsOfDate": "2025-02-28",
    "isClosingPeriodData": True,
    "collectionDate": "2025-03-07",
    "logicalDate": "2025-02-28",
}
RANKING = {
    "districtId": "42",
    "districtName": "District 42",
    "region": "06",
    "paidClubs": 47,
    "paidClubBase": 48,
    "clubGrowthPercent": -2.08,
    "totalPayments": 1291,
    "paymentBase": 2273,
    "paymentGrowthPercent": -43.2,
    "activeClubs": 48,
    "distinguishedClubs": 3,
    "selectDistinguished": 0,
    "presidentsDistinguished": 0,
    "distinguishedPercent": 6.25,
    "clubsRank": 1,
    "paymentsRank": 1,
    "distinguishedRank": 1,
    "aggregateScore": 3,
    "overallRank": 1,
}
RANKINGS = {
    "metadata": {
        "snapshotId": "2025-03-11",
        "calculatedAt": STAMP,
        "schemaVersion": "backfill-1",
        "calculationVersion": "backfill-1",
        "rankingVersion": "borda-backfill-1",
        "sourceCsvDate": "2025-03-11",
        "csvFetchedAt": STAMP,
        "totalDistricts": 1,
        "fromCache": False,
    },
    "rankings": [RANKING],
}
POINT = {
    "date": "2025-03-11",
    "snapshotId": "2025-03-11",
    "membership": 10,
    "payments": 5,
    "dcpGoals": 3,
    "distinguishedTotal": 1,
    "clubCounts": {"total": 2, "thriving": 1, "vulnerable": 1, "interventionRequired": 0},
}
PROGRAM_YEAR = {
    "districtId": "42",
    "programYear": "2024-2025",
    "startDate": "2024-07-01",
    "endDate": "2025-06-30",
    "lastUpdated": STAMP,
    "dataPoints": [POINT],
    "summary": {
        "totalDataPoints": 1,
        "membershipStart": 10,
        "membershipEnd": 10,
        "membershipPeak": 10,
        "membershipLow": 10,
    },
}
HISTORY_POINT = {
    "date": "2025-03-11",
    "aggregateScore": 3,
    "clubsRank": 1,
    "paymentsRank": 1,
    "distinguishedRank": 1,
    "totalDistricts": 1,
}
CLUB_INDEX = {
    "generatedAt": STAMP,
    "snapshotDate": "2025-03-11",
    "totalClubs": 1,
    "clubs": {"396": {"districtId": "42", "clubName": "Evergreen"}},
}


def changed(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `payload` with the value at `path` set (or removed for `...`)."""
    out = copy.deepcopy(payload)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def refused(model: type[SiteModel], payload: dict[str, Any], match: str) -> None:
    with pytest.raises(SiteFormatError, match=match):
        checked(model, payload, path="f.json")


@pytest.mark.parametrize(
    ("model", "payload", "path"),
    [
        (PerDistrictFile, DISTRICT_FILE, ("errorMessage",)),
        (PerDistrictFile, DISTRICT_FILE, ("data", "clubs", 0, "charterDate")),
        (PerDistrictFile, DISTRICT_FILE, ("data", "clubs", 0, "clubStatus")),
        (PerDistrictFile, DISTRICT_FILE, ("data", "clubs", 0, "cspSubmitted")),
        (SnapshotManifestFile, MANIFEST, ("districts", 0, "errorMessage")),
        (SnapshotManifestFile, MANIFEST, ("allDistrictsRankings",)),
        (SnapshotMetadataFile, METADATA, ("collectionDate",)),
        (AllDistrictsRankingsFile, RANKINGS, ("rankings", 0, "smedleyDistinguished")),
        (AllDistrictsRankingsFile, RANKINGS, ("rankings", 0, "dspSubmitted")),
        (
            RankHistoryFile,
            {"districtId": "42", "districtName": "District 42", "history": [HISTORY_POINT]},
            ("history", 0, "overallRank"),
        ),
    ],
)
def test_null_is_refused_where_zod_says_optional_on_reading_and_writing(model, payload, path):
    checked(model, payload, path="f.json")
    with_null = changed(payload, path, None)
    refused(model, with_null, "never null")
    with pytest.raises(ValueError, match="never null"):
        model.model_validate(with_null)  # the site's own file: its schema refuses null too


def test_the_sites_newest_club_field_is_read_and_a_typo_is_not():
    site_file = changed(DISTRICT_FILE, ("data", "clubs", 0, "cspSubmitted"), True)
    checked(PerDistrictFile, site_file, path="f.json")
    typo = changed(site_file, ("data", "clubs", 0, "cspSubmited"), True)
    refused(PerDistrictFile, typo, re.escape("data.clubs.0: Value error, extra fields"))


def test_fields_the_sites_pipeline_adds_are_read_and_never_written():
    # The site's schemas strip unknown keys; its newest pipeline adds a club's address.
    site_file = changed(DISTRICT_FILE, ("data", "clubs", 0, "address"), {"country": "Canada"})
    site_file["writeComplete"] = True
    read = PerDistrictFile.model_validate(site_file)
    assert read.data.clubs[0].clubName == "Evergreen"
    refused(PerDistrictFile, site_file, "extra fields the site does not define")


def test_our_club_ids_are_canonical_the_sites_older_padded_ones_still_read():
    padded = changed(DISTRICT_FILE, ("data", "clubs", 0, "clubId"), "00000396")
    refused(PerDistrictFile, padded, "not canonical")
    PerDistrictFile.model_validate(padded)  # an import reads the site's older files
    for canonical in ("396", "0000"):
        checked(ClubFile, {**CLUB, "clubId": canonical}, path="f.json")
    refused(ClubIndexFile, {**CLUB_INDEX, "clubs": {"0396": CLUB_INDEX["clubs"]["396"]}}, "396")


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("collectionDate",), ..., "go together"),
        (("isClosingPeriodData",), False, "never false"),
        (("collectionDate",), "2025-02-27", "collected after"),
        (("logicalDate",), "2025-03-07", "own date"),
        (("dataAsOfDate",), "2025-03-07", "own date"),
        (("status",), "partial", "status"),
        (("configuredDistricts",), ["42", "61"], "configuredDistricts"),
    ],
)
def test_our_metadata_says_the_closing_period_and_status_as_the_sites_collector(path, value, match):
    checked(SnapshotMetadataFile, METADATA, path="f.json")
    refused(SnapshotMetadataFile, changed(METADATA, path, value), match)


def test_the_sites_older_metadata_reads_as_its_schema_allows():
    older = {**METADATA, "isClosingPeriodData": False, "status": "partial"}
    del older["collectionDate"]
    SnapshotMetadataFile.model_validate(older)


def test_failed_districts_make_a_partial_or_failed_date():
    partial = {**METADATA, "status": "partial", "configuredDistricts": ["42", "61"]}
    checked(SnapshotMetadataFile, {**partial, "failedDistricts": ["61"]}, path="f.json")
    failed = {**partial, "status": "failed", "successfulDistricts": [], "failedDistricts": ["61"]}
    checked(SnapshotMetadataFile, {**failed, "configuredDistricts": ["61"]}, path="f.json")


@pytest.mark.parametrize(
    ("model", "payload", "path", "value", "match"),
    [
        (SnapshotManifestFile, MANIFEST, ("successfulDistricts",), 2, "successfulDistricts"),
        (SnapshotManifestFile, MANIFEST, ("failedDistricts",), 1, "totalDistricts"),
        (AllDistrictsRankingsFile, RANKINGS, ("metadata", "totalDistricts"), 2, "totalDistricts"),
        (ClubIndexFile, CLUB_INDEX, ("totalClubs",), 2, "totalClubs"),
        (ClubIndexFile, CLUB_INDEX, ("snapshotDate",), ..., "snapshotDate"),
        (
            DatesFile,
            {"dates": ["2025-03-10", "2025-03-11"], "count": 2, "generatedAt": STAMP},
            ("count",),
            1,
            "count",
        ),
        (
            DatesFile,
            {"dates": ["2025-03-10", "2025-03-11"], "count": 2, "generatedAt": STAMP},
            ("dates",),
            ["2025-03-11", "2025-03-10"],
            "ascending",
        ),
        (
            DistrictSnapshotIndexFile,
            {"generatedAt": STAMP, "districts": {"42": ["2025-03-10"]}},
            ("districts", "42"),
            ["2025-03-10", "2025-03-10"],
            "ascending",
        ),
        (ProgramYearFile, PROGRAM_YEAR, ("endDate",), "2025-07-01", "June 30"),
        (ProgramYearFile, PROGRAM_YEAR, ("programYear",), "2024-2026", "consecutive"),
        (ProgramYearFile, PROGRAM_YEAR, ("dataPoints", 0, "date"), "2025-07-01", "outside"),
        (ProgramYearFile, PROGRAM_YEAR, ("dataPoints", 0, "snapshotId"), "", "snapshotId"),
        (ProgramYearFile, PROGRAM_YEAR, ("summary", "totalDataPoints"), 2, "totalDataPoints"),
        (
            IndexMetadataFile,
            {
                "districtId": "42",
                "lastUpdated": STAMP,
                "availableProgramYears": ["2023-2024", "2024-2025"],
                "totalDataPoints": 2,
            },
            ("availableProgramYears",),
            ["2024-2025", "2023-2024"],
            "ascending",
        ),
    ],
)
def test_counts_add_up_and_dates_run_oldest_first(model, payload, path, value, match):
    checked(model, changed(payload, path, payload_value(payload, path)), path="f.json")
    refused(model, changed(payload, path, value), match)


def payload_value(payload: dict[str, Any], path: tuple[Any, ...]) -> Any:
    for key in path:
        payload = payload[key]
    return payload


def test_club_health_counts_cover_every_club_once():
    counts = {"total": 3, "thriving": 1, "vulnerable": 1, "interventionRequired": 0}
    with pytest.raises(ValueError, match="total"):
        ClubHealthCounts.model_validate(counts)
