"""Planning an analytics-generation job over the stored snapshots: one unit per district and
program year for its time series, one per stored date for its rankings, and what they read."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError

from analytics import documents
from analytics import services as analytics
from districts.dashboard.urls import program_year_of
from districts.ids import ALL_DISTRICTS, district_sort_key
from snapshots import store
from snapshots.models import SnapshotStatus

from ...models import CollectionStrategy, UnitStatus
from . import scope as scopes
from .plan import Plan, PlannedUnit, SnapshotReads
from .request import BackfillRequest

# Rough cost of one distinct district file read by an analytics-generation job (read by its
# time series and by its date's rankings; bench `analytics`: 43,800 files in 139 s with one
# worker process), for the preview's estimated duration.
ANALYTICS_SECONDS_PER_FILE = 0.003


def plan_analytics(request: BackfillRequest) -> Plan:
    """Plan an analytics-generation job over the stored snapshots of the request's range
    (omitted dates: from the first / to the last stored snapshot).

    Units: one per (district, program year) for the district's time series, whose logical date
    is the first stored date of the range in that program year (the program year is that
    date's), and one per stored date with district ALL_DISTRICTS for its rankings, which rank
    every district of the date's all-districts summary whatever the scope (`unavailable`, with
    the reason, when no summary of the date is stored). The time-series districts are the
    targets, else the configured scope, else every district stored on a date of the range. A
    unit with nothing to read is planned `unavailable` with the reason.

    Raises ValidationError: `startDate` when no snapshot is stored in the range, the scope's
    errors (`targetDistricts`), `endDate` beyond BACKFILL_MAX_JOB_UNITS.
    """
    stored = store.stored_dates()
    first = request.start_date or (stored[0] if stored else None)
    last = request.end_date or (stored[-1] if stored else None)
    in_range = tuple(d for d in stored if first is not None and first <= d <= last)
    if not in_range:
        where = (
            f"between {first} and {last}"
            if request.start_date or request.end_date
            else "in the snapshot store"
        )
        message = f"No stored snapshot {where}: there is nothing to generate analytics from."
        raise ValidationError({"startDate": [message], "endDate": [message]})
    warnings, resolution = scopes.resolve_scope(request)
    listing = {day: store.list_districts(logical_date=day) for day in in_range}
    districts = resolution.targets or resolution.configured
    if not districts:
        found = {d for ids in listing.values() for d in ids}
        districts = tuple(sorted(found, key=district_sort_key))
    years = sorted({program_year_of(day) for day in in_range})
    # Every stored date of those program years: a time series covers its whole year.
    year_files: dict[str, dict[str, int]] = {}
    read: set[tuple[date, str]] = {(day, d) for day, ids in listing.items() for d in ids}
    for year in years:
        counts: Counter[str] = Counter()
        for day in documents.program_year_dates(year, stored):
            ids = listing.get(day)
            if ids is None:
                ids = store.list_districts(logical_date=day)
            wanted = set(districts)
            for d in ids:
                if d in wanted:
                    counts[d] += 1
                    read.add((day, d))
        year_files[year] = counts
    units: list[PlannedUnit] = []
    for year in years:
        first_of_year = min(day for day in in_range if program_year_of(day) == year)
        for district_id in districts:
            if year_files[year][district_id]:
                units.append(PlannedUnit(first_of_year, district_id, UnitStatus.PENDING))
            else:
                reason = f"no stored snapshot of program year {year} has district {district_id}"
                units.append(
                    PlannedUnit(first_of_year, district_id, UnitStatus.UNAVAILABLE, reason)
                )
    for day in in_range:
        # Rankings rank every district of the date's summary, never the stored subset.
        reason = (
            analytics.missing_summary_reason(day)
            if listing[day]
            else f"the snapshot of {day} has no district file to rank"
        )
        if reason:
            units.append(PlannedUnit(day, ALL_DISTRICTS, UnitStatus.UNAVAILABLE, reason))
        else:
            units.append(PlannedUnit(day, ALL_DISTRICTS, UnitStatus.PENDING))
    units.sort(key=lambda u: (u.logical_date, district_sort_key(u.district_id)))
    if len(units) > settings.BACKFILL_MAX_JOB_UNITS:
        raise ValidationError(
            {
                "endDate": [
                    f"{len(units)} units is more than {settings.BACKFILL_MAX_JOB_UNITS} "
                    "(BACKFILL_MAX_JOB_UNITS); split the job."
                ]
            }
        )
    start, end = first, last
    statuses = analytics.snapshot_statuses(in_range)
    stored_set = set(stored)
    reads = SnapshotReads(
        snapshot_dates=len({day for day, _ in read}),
        district_files=len(read),
        program_years=tuple(years),
        missing_dates=tuple(
            day
            for day in (start + timedelta(days=i) for i in range((end - start).days + 1))
            if day not in stored_set
        ),
        partial_dates=tuple(d for d in in_range if statuses[d] != SnapshotStatus.COMPLETED),
    )
    scope = scopes.scope_json(request, resolution)
    return Plan(
        request=request,
        collection_strategy=CollectionStrategy.ANALYTICS,
        rationale=(
            f"analytics from the stored snapshots: time series of {len(districts)} districts "
            f"over {len(years)} program year(s) and rankings of {len(in_range)} dates; no "
            "request to the dashboard"
        ),
        estimated_efficiency=0.0,
        scope=scope,
        districts=tuple(districts),
        dates=in_range,
        warnings=tuple(warnings),
        planned=tuple(units),
        reads=reads,
    )
