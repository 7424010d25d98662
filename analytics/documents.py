"""The analytics documents derived from the stored snapshots (seed 004's AnalyticsGenerator
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
         "detail": "full",
         "membership": {"active": 5312, "base": 5400, "netGrowth": -88},
         "paidClubs": 201,
         "activeClubs": 196,                # clubs not suspended (figures.active_clubs)
         "payments": {"total": 120, "growthPercent": -12.5},
         "distinguishedClubs": {"distinguished": 3, "select": 1, "presidents": 0,
                                "smedley": 0, "total": 4, "percent": 2.04},
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
points, highest first. The districts ranked are every district of the date's all-districts
summary (`read_date_summary`), whatever the snapshot's scope; a date without a stored summary
gets no rankings document (the unit ends `unavailable` with the reason).

Details the formats above leave open, decided here:
- Every figure is read through `districts/dashboard/figures.py`, the one definition the
  normalizer also uses, whatever report the district file was read from: active clubs are the
  clubs not suspended (the summary's Active Clubs; `total - suspended` of a full-detail file),
  distinguished % is Total Distinguished / Active Clubs x 100 rounded to 2 decimals (null when
  a count is missing or there are no active clubs), growth % (club, payment) is (count - base)
  / base x 100. `clubsByStatus` counts clubs by published status: all null for summary data,
  which publishes no statuses. The other values are the stored ones as they are.
- A category where every district that has a value has the same value (one district alone
  included) gives every district 0 points there; their ranks are still 1.
- A summary metric's first/last are its earliest/latest non-null values; `change` is last -
  first (rounded to 2 decimals for percentages).
- `partialDates` lists the dates read whose snapshot is not `completed` (partial_success,
  failed, or no manifest yet: a collection still in progress). The status comes from the
  `Snapshot` index, which mirrors the manifests (the manifest itself when a date has no index
  row): one query per document instead of one manifest parse per date.
- A district file that cannot be read (corrupt, or holding another district) counts as missing;
  a file whose program year is not the document's is not part of it.
- The rankings document also says `"snapshotStatus"` (after `districtCount`): the date's
  snapshot status as above (`completed`, `partial_success`, `failed` or null without a
  manifest), so a partial snapshot is reported in the document and not only in the index row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from districts.dashboard import figures
from districts.dashboard.statistics import DistrictStatistics
from districts.dashboard.urls import program_year_of
from districts.ids import canonical_district_id, district_sort_key
from snapshots import store
from snapshots.store import ANALYTICS_DIR

from .models import AnalyticsKind

SCHEMA_VERSION = 1
RANKING_CATEGORIES = ("clubGrowthPercent", "paymentGrowthPercent", "distinguishedPercent")
# Summary metrics of a time series: name -> how to read it from a series point.
SUMMARY_METRICS: dict[str, Callable[[dict[str, Any]], int | float | None]] = {
    "activeMembers": lambda p: p["membership"]["active"],
    "paidClubs": lambda p: p["paidClubs"],
    "totalPayments": lambda p: p["payments"]["total"],
    "totalDistinguished": lambda p: p["distinguishedClubs"]["total"],
    "distinguishedPercent": lambda p: p["distinguishedClubs"]["percent"],
}


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


# --- program years ----------------------------------------------------------------------------


def program_year_first_day(program_year: str) -> date:
    """July 1 of a program year (`2024-2025` -> 2024-07-01): the logical date of the units that
    generate its time series. Raises ValueError for a malformed program year."""
    start, end = (int(part) for part in program_year.split("-"))
    if end != start + 1:
        raise ValueError(f"invalid program year {program_year!r}")
    return date(start, 7, 1)


def program_year_dates(program_year: str, stored: Iterable[date] | None = None) -> list[date]:
    """The stored snapshot dates of a program year (July 1 to June 30), oldest first."""
    first = program_year_first_day(program_year)
    last = date(first.year + 1, 6, 30)
    dates = store.stored_dates() if stored is None else stored
    return [d for d in dates if first <= d <= last]


# --- pure computation -------------------------------------------------------------------------


def distinguished_percent(statistics: DistrictStatistics) -> float | None:
    """Total Distinguished / Active Clubs x 100, rounded to 2 decimals (`figures`, the one
    definition); None when a count is missing or there are no active clubs."""
    return figures.distinguished_percent(statistics)


def series_point(statistics: DistrictStatistics) -> dict[str, Any]:
    """One date of a district's time series, from its district file."""
    membership, payments, clubs = statistics.membership, statistics.payments, statistics.clubs
    return {
        "date": statistics.logical_date.isoformat(),
        "asOfDate": statistics.as_of_date.isoformat(),
        "dataMonth": statistics.data_month,
        "detail": statistics.detail,
        "membership": {
            "active": membership.active_members,
            "base": membership.base,
            "netGrowth": membership.net_growth,
        },
        "paidClubs": clubs.paid,
        "activeClubs": figures.active_clubs(statistics),
        "payments": {
            "total": payments.total_ytd,
            "growthPercent": figures.payment_growth_percent(statistics),
        },
        "distinguishedClubs": {
            "distinguished": clubs.distinguished,
            "select": clubs.select_distinguished,
            "presidents": clubs.presidents_distinguished,
            "smedley": clubs.smedley_distinguished,
            "total": clubs.total_distinguished,
            "percent": distinguished_percent(statistics),
        },
        "clubsByStatus": figures.clubs_by_status(statistics),
    }


def _difference(last: int | float, first: int | float) -> int | float:
    change = last - first
    return round(change, 2) if isinstance(change, float) else change


def metric_summary(values: Sequence[tuple[str, int | float | None]]) -> dict[str, Any]:
    """first/last/change/best/worst of one metric over (date, value) pairs, oldest first.
    Best is the highest value (earliest date on a tie), worst the lowest; all null when no
    date has a value."""
    known = [(day, value) for day, value in values if value is not None]
    if not known:
        return {"first": None, "last": None, "change": None, "best": None, "worst": None}
    best = known[0]
    worst = known[0]
    for day, value in known[1:]:
        if value > best[1]:
            best = (day, value)
        if value < worst[1]:
            worst = (day, value)
    return {
        "first": known[0][1],
        "last": known[-1][1],
        "change": _difference(known[-1][1], known[0][1]),
        "best": {"date": best[0], "value": best[1]},
        "worst": {"date": worst[0], "value": worst[1]},
    }


def series_summary(series: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "daysWithData": len(series),
        "firstDate": series[0]["date"] if series else None,
        "lastDate": series[-1]["date"] if series else None,
        "metrics": {
            name: metric_summary([(point["date"], read(point)) for point in series])
            for name, read in SUMMARY_METRICS.items()
        },
    }


def district_series_document(
    *,
    district_id: str,
    program_year: str,
    statistics: Sequence[DistrictStatistics],
    missing_dates: Sequence[date],
    partial_dates: Sequence[date],
) -> dict[str, Any]:
    """The time-series document of a district's program year from its district files (any
    order; one per date)."""
    ordered = sorted(statistics, key=lambda s: s.logical_date)
    series = [series_point(s) for s in ordered]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": AnalyticsKind.DISTRICT_TIME_SERIES.value,
        "districtId": district_id,
        "programYear": program_year,
        "snapshotDates": len(series),
        "missingDates": [d.isoformat() for d in sorted(missing_dates)],
        "partialDates": [d.isoformat() for d in sorted(partial_dates)],
        "series": series,
        "summary": series_summary(series),
    }


def competition_ranks(values: dict[str, float | None]) -> dict[str, int | None]:
    """district -> competition rank (1 = highest value; ties share a rank, the next rank skips:
    1, 1, 3); None for a district without a value."""
    known = sorted((v for v in values.values() if v is not None), reverse=True)
    first_position: dict[float, int] = {}
    for position, value in enumerate(known, start=1):
        first_position.setdefault(value, position)
    return {d: (None if v is None else first_position[v]) for d, v in values.items()}


def category_points(ranks: dict[str, int | None], values: dict[str, float | None]) -> dict:
    """Borda points N - rank + 1 over the N districts with a value; 0 for a district without a
    value, and 0 for everybody when every district with a value ties."""
    known = [v for v in values.values() if v is not None]
    all_tie = len(set(known)) <= 1
    n = len(known)
    return {d: 0 if rank is None or all_tie else n - rank + 1 for d, rank in ranks.items()}


def ranking_values(statistics: DistrictStatistics) -> dict[str, float | None]:
    return {
        "clubGrowthPercent": figures.club_growth_percent(statistics),
        "paymentGrowthPercent": figures.payment_growth_percent(statistics),
        "distinguishedPercent": figures.distinguished_percent(statistics),
    }


def rankings_document(
    *, logical_date: date, statistics: Sequence[DistrictStatistics], snapshot_status: str | None
) -> dict[str, Any]:
    """The rankings document of one snapshot date over its district files (DOMAIN.md 8)."""
    districts = sorted((s.district_id for s in statistics), key=district_sort_key)
    values = {s.district_id: ranking_values(s) for s in statistics}
    ranks: dict[str, dict[str, int | None]] = {d: {} for d in districts}
    points: dict[str, dict[str, int]] = {d: {} for d in districts}
    for category in RANKING_CATEGORIES:
        column = {d: values[d][category] for d in districts}
        category_ranks = competition_ranks(column)
        category_points_ = category_points(category_ranks, column)
        for d in districts:
            ranks[d][category] = category_ranks[d]
            points[d][category] = category_points_[d]
    totals = {d: sum(points[d].values()) for d in districts}
    overall = competition_ranks({d: float(t) for d, t in totals.items()})
    order = sorted(districts, key=lambda d: (overall[d], district_sort_key(d)))
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": AnalyticsKind.RANKINGS.value,
        "date": logical_date.isoformat(),
        "programYear": program_year_of(logical_date),
        "districtCount": len(districts),
        "snapshotStatus": snapshot_status,
        "categories": list(RANKING_CATEGORIES),
        "rankings": [
            {
                "districtId": d,
                "overallRank": overall[d],
                "totalPoints": totals[d],
                "values": values[d],
                "ranks": ranks[d],
                "points": points[d],
            }
            for d in order
        ],
    }
