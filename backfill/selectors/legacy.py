"""Reads only the legacy status needs: each district's dates by outcome (`districtProgress`)
and the districts of a partial snapshot."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from districts.ids import district_sort_key
from snapshots import store

from ..models import (
    BackfillJob,
    BackfillUnit,
    UnitStatus,
)
from .jobs import JobVersion


@dataclass(frozen=True)
class DistrictDates:
    """One district's dates in a job, for the legacy `districtProgress`."""

    district_id: str
    dates_total: int
    dates_processed: int
    successful_dates: tuple[str, ...]
    failed_dates: tuple[str, ...]
    retry_count: int
    last_error: str | None
    running: bool


def district_dates(*, version: JobVersion) -> tuple[DistrictDates, ...]:
    """Per district: its dates by outcome, retries beyond the first attempt and the last error
    (the legacy `districtProgress`). On PostgreSQL one grouped query returns a row per district
    with its dates already aggregated, kept per process for as long as the job's version of its
    units stays the same (the legacy status is polled); elsewhere it counts in one pass over
    the units."""
    if connection.vendor == "postgresql":
        return _cached_district_dates(version)
    return _counted_district_dates(version.job)


def _counted_district_dates(job: BackfillJob) -> tuple[DistrictDates, ...]:
    rows = (
        BackfillUnit.objects.filter(job=job)
        .order_by("logical_date")
        .values_list("district_id", "logical_date", "status", "attempts", "error_message")
    )
    acc: dict[str, dict[str, Any]] = {}
    for district_id, day, status, attempts, message in rows.iterator(chunk_size=5000):
        entry = acc.setdefault(
            district_id,
            {"total": 0, "done": 0, "ok": [], "failed": [], "retries": 0, "error": None, "run": 0},
        )
        entry["total"] += 1
        entry["retries"] += max(attempts - 1, 0)
        if status not in (UnitStatus.PENDING, UnitStatus.RUNNING):
            entry["done"] += 1
        entry["run"] += status == UnitStatus.RUNNING
        if status == UnitStatus.SUCCEEDED:
            entry["ok"].append(day.isoformat())
        elif status == UnitStatus.FAILED:
            entry["failed"].append(day.isoformat())
            entry["error"] = message or entry["error"]
    return tuple(
        DistrictDates(
            district_id=district_id,
            dates_total=e["total"],
            dates_processed=e["done"],
            successful_dates=tuple(e["ok"]),
            failed_dates=tuple(e["failed"]),
            retry_count=e["retries"],
            last_error=e["error"],
            running=bool(e["run"]),
        )
        for district_id, e in sorted(acc.items(), key=lambda i: district_sort_key(i[0]))
    )


# One row per district: counts, ISO dates by outcome (in date order) and the message of the
# latest failed date that has one. A single scan of the job's units (or of some districts'
# units) in the database, instead of one Python object per unit.
_DISTRICT_DATES_SQL = """
SELECT district_id,
       count(*),
       count(*) FILTER (WHERE status NOT IN (%(pending)s, %(running)s)),
       count(*) FILTER (WHERE status = %(running)s),
       coalesce(sum(greatest(attempts - 1, 0)), 0),
       coalesce(array_agg(to_char(logical_date, 'YYYY-MM-DD') ORDER BY logical_date)
                FILTER (WHERE status = %(succeeded)s), '{}'),
       coalesce(array_agg(to_char(logical_date, 'YYYY-MM-DD') ORDER BY logical_date)
                FILTER (WHERE status = %(failed)s), '{}'),
       (array_agg(error_message ORDER BY logical_date DESC)
                FILTER (WHERE status = %(failed)s AND error_message <> ''))[1]
FROM backfill_backfillunit
WHERE job_id = %(job)s"""


@dataclass
class _Cached:
    units: tuple[Any, ...]  # the job's version of its units when `dates` were read
    counts: dict[str, tuple[Any, ...]]  # district id -> its (status, count) rows then
    dates: dict[str, DistrictDates]


# job id -> its district dates, in this process: pollers of a job whose units did not change
# share one computation instead of each scanning the units, and a change re-reads only the
# districts whose unit counts changed (a running job changes a few districts per poll).
_DISTRICT_DATES_CACHE: dict[uuid.UUID, _Cached] = {}
_DISTRICT_DATES_CACHE_SIZE = 16


def _counts_by_district(version: JobVersion) -> dict[str, tuple[Any, ...]]:
    counts: dict[str, list[Any]] = {}
    for district_id, status, count in version.district_counts:
        counts.setdefault(district_id, []).append((status, count))
    return {district_id: tuple(rows) for district_id, rows in counts.items()}


def _cached_district_dates(version: JobVersion) -> tuple[DistrictDates, ...]:
    job = version.job
    cached = _DISTRICT_DATES_CACHE.get(job.pk)
    if cached is None or cached.units != version.units:
        counts = _counts_by_district(version)
        if cached is None or cached.counts == counts:
            # New, or a change the counts do not show (a lease reclaim adds an attempt to a
            # running unit): every district is read again.
            dates = _aggregated_district_dates(job)
        else:
            changed = [
                d
                for d in counts.keys() | cached.counts.keys()
                if counts.get(d) != cached.counts.get(d)
            ]
            dates = {d: v for d, v in cached.dates.items() if d in counts}
            dates.update(_aggregated_district_dates(job, districts=changed))
        cached = _Cached(units=version.units, counts=counts, dates=dates)
        _DISTRICT_DATES_CACHE.pop(job.pk, None)
        while len(_DISTRICT_DATES_CACHE) >= _DISTRICT_DATES_CACHE_SIZE:
            _DISTRICT_DATES_CACHE.pop(next(iter(_DISTRICT_DATES_CACHE)), None)
        _DISTRICT_DATES_CACHE[job.pk] = cached
    return tuple(cached.dates[d] for d in sorted(cached.dates, key=district_sort_key))


def _aggregated_district_dates(
    job: BackfillJob, *, districts: list[str] | None = None
) -> dict[str, DistrictDates]:
    params = {
        "job": job.pk,
        "pending": UnitStatus.PENDING,
        "running": UnitStatus.RUNNING,
        "succeeded": UnitStatus.SUCCEEDED,
        "failed": UnitStatus.FAILED,
        "districts": districts,
    }
    some = "" if districts is None else " AND district_id = ANY(%(districts)s)"
    sql = f"{_DISTRICT_DATES_SQL}{some} GROUP BY district_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        district_id: DistrictDates(
            district_id=district_id,
            dates_total=total,
            dates_processed=done,
            successful_dates=tuple(ok),
            failed_dates=tuple(failed),
            retry_count=retries,
            last_error=error,
            running=bool(running),
        )
        for district_id, total, done, running, retries, ok, failed, error in rows
    }


def partial_snapshot_districts(*, snapshot_id: str) -> tuple[list[str], list[str]]:
    """(successful, failed) district ids of a stored snapshot, from its manifest."""
    manifest = store.read_manifest(logical_date=date.fromisoformat(snapshot_id)) or {}
    failed = sorted(
        {e.get("districtId", "") for e in manifest.get("errors", [])}, key=district_sort_key
    )
    ok = sorted(manifest.get("detailLevels", {}), key=district_sort_key)
    return ok, failed
