"""Analytics generation: documents derived from the stored snapshots (seed 004's AnalyticsGenerator
and TimeSeriesIndexStorage).

Two kinds of documents, written atomically beside the snapshots through the store
(`store.write_document`) and indexed in `AnalyticsOutput`. They carry no timestamps: a re-run
over the same snapshots rewrites them byte for byte (when and by which job is in the index row).

`analytics/districts/<district id>/<program year>.json` - a district's program year:

    {"schemaVersion": 1, "kind": "district-time-series",
     "districtId": "42", "programYear": "2024-2025",
     "snapshotDates": 183,                  # dates with a district file read
     "missingDates": ["2024-08-03", ...],   # snapshot dates of the year without this district
     "partialDates": ["2024-09-10", ...],   # dates read whose snapshot is partial_success/failed
     "series": [                            # one point per date with data, oldest first
        {"date": "2024-07-01", "asOfDate": "2024-07-01", "dataMonth": "2024-07",
         "detail": "summary",
         "membership": {"active": 5312, "base": 5400, "netGrowth": -88},
         "paidClubs": 201,
         "payments": {"total": 120, "growthPercent": -12.5},
         "distinguishedClubs": {"distinguished": 3, "select": 1, "presidents": 0,
                                "smedley": 0, "total": 4, "percent": 1.9},
         "clubsByStatus": {"active": 190, "low": 6, "suspended": 5, "ineligible": 0}},
        ...],
     "summary": {"daysWithData": 183, "firstDate": "2024-07-01", "lastDate": "2025-06-30",
                 "metrics": {"activeMembers": {"first": 5312, "last": 5890, "change": 578,
                                                "best": {"date": "...", "value": 5901},
                                                "worst": {"date": "...", "value": 5100}},
                             "paidClubs": {...}, "totalPayments": {...},
                             "totalDistinguished": {...}, "distinguishedPercent": {...}}}}

A value the snapshot does not have is null (never 0); a metric with no value on any date has
first/last/change/best/worst null. Best is the highest value (earliest date on a tie), worst the
lowest.

`analytics/rankings/<YYYY-MM-DD>.json` - every district of one snapshot date (DOMAIN.md
section 8):

    {"schemaVersion": 1, "kind": "rankings", "date": "2025-01-31", "programYear": "2024-2025",
     "districtCount": 120,
     "categories": ["clubGrowthPercent", "paymentGrowthPercent", "distinguishedPercent"],
     "rankings": [                          # by overallRank, then district order
        {"districtId": "42", "overallRank": 1, "totalPoints": 351,
         "values": {"clubGrowthPercent": 4.1, "paymentGrowthPercent": 7.0,
                    "distinguishedPercent": 38.2},
         "ranks": {"clubGrowthPercent": 2, ...},   # 1 = highest value; ties share a rank
         "points": {"clubGrowthPercent": 119, ...}}, # N - rank + 1; 0 where every district ties
        ...]}

Ranks are competition ranks (1, 1, 3) over the districts that have a value in the category; N is
their number; a district without a value has rank null and 0 points there. Distinguished % is
Total Distinguished / Active Clubs x 100. The overall rank is the competition rank of the total
points, highest first.
"""

from __future__ import annotations

from datetime import date

from districts.ids import canonical_district_id
from snapshots import store
from snapshots.store import ANALYTICS_DIR

SCHEMA_VERSION = 1
RANKING_CATEGORIES = ("clubGrowthPercent", "paymentGrowthPercent", "distinguishedPercent")


def district_series_name(district_id: str, program_year: str) -> str:
    return f"{ANALYTICS_DIR}/districts/{canonical_district_id(district_id)}/{program_year}.json"


def rankings_name(logical_date: date) -> str:
    return f"{ANALYTICS_DIR}/rankings/{logical_date.isoformat()}.json"


def read_district_series(*, district_id: str, program_year: str) -> dict | None:
    """The stored time-series document of a district's program year, or None."""
    return store.read_document(name=district_series_name(district_id, program_year))


def read_rankings(*, logical_date: date) -> dict | None:
    """The stored rankings document of a snapshot date, or None."""
    return store.read_document(name=rankings_name(logical_date))
