"""Reading snapshots: the index for lists, the store for contents, health and performance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import redis
from django.db.models import Avg, Max, QuerySet, Sum

from districts.dashboard.statistics import DistrictStatistics
from districts.ids import InvalidDistrictId, canonical_district_id
from snapshots import performance, store
from snapshots.models import Snapshot, SnapshotStatus

# Below this much free space the health check reports a problem: a year of full-detail
# snapshots for every district takes a few hundred megabytes.
LOW_FREE_SPACE_BYTES = 100 * 1024 * 1024


def snapshot_list(
    *,
    limit: int,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[list[Snapshot], int]:
    """Index rows, newest date first, at most `limit` of them; and how many match in all."""
    rows: QuerySet[Snapshot] = Snapshot.objects.all()
    if status:
        rows = rows.filter(status=status)
    if date_from:
        rows = rows.filter(logical_date__gte=date_from)
    if date_to:
        rows = rows.filter(logical_date__lte=date_to)
    return list(rows.order_by("-logical_date")[:limit]), rows.count()


def snapshot_manifest(*, logical_date: date) -> dict[str, Any] | None:
    """The manifest of a date as stored, or None. Raises SnapshotStoreError when corrupt."""
    return store.read_manifest(logical_date=logical_date)


def snapshot_district(*, logical_date: date, district_id: str) -> DistrictStatistics | None:
    """One district's stored statistics, or None for an unknown date, district or bad id."""
    try:
        district_id = canonical_district_id(district_id)
    except InvalidDistrictId:
        return None
    return store.read_district(logical_date=logical_date, district_id=district_id)


@dataclass(frozen=True)
class StoreHealth:
    healthy: bool
    location: str
    writable: bool
    free_space_bytes: int | None
    snapshot_count: int
    last_completed_date: date | None
    problems: tuple[str, ...]
    # While the store cannot take writes (full, nearly full, read-only, refused): the engine
    # dispatches nothing until it can.
    condition: store.StoreCondition | None = None


def store_health() -> StoreHealth:
    """A cheap check: writable root, free space, and index rows against directories on disk.

    It lists the root and each date directory (no file is read); `snapshots_verify` is the
    thorough check.
    """
    root = store.root_status()
    problems = []
    condition = store.store_condition()
    if condition is not None:
        problems.append(f"{condition.sentence}: no unit is dispatched until it takes writes")
    if not root.writable:
        problems.append(f"the snapshot root {root.location} is not writable")
    if root.free_space_bytes is not None and root.free_space_bytes < LOW_FREE_SPACE_BYTES:
        problems.append(f"only {root.free_space_bytes} bytes free under {root.location}")
    indexed = set(Snapshot.objects.values_list("logical_date", flat=True))
    try:
        on_disk = store.stored_dates()
        unindexed = [d for d in on_disk if d not in indexed]
        contents = {d: store.date_directory(logical_date=d) for d in unindexed}
    except store.SnapshotStoreError as exc:
        # A bucket that is gone or refuses the listing: a health answer, not a server error.
        problems.append(f"the snapshot store {root.location} cannot be listed: {exc}")
        on_disk, contents = list(indexed), {}
    # A directory with neither manifest nor district file (only a lock) is not a snapshot.
    without_manifest = [d for d, c in contents.items() if c.district_files and not c.has_manifest]
    if without_manifest:
        problems.append(
            f"{len(without_manifest)} dates have district files but no manifest "
            f"(first {without_manifest[0]})"
        )
    unindexed_snapshots = [d for d, c in contents.items() if c.has_manifest]
    if unindexed_snapshots:
        problems.append(
            f"{len(unindexed_snapshots)} snapshots are missing from the index "
            f"(first {unindexed_snapshots[0]})"
        )
    missing_dirs = sorted(indexed - set(on_disk))
    if missing_dirs:
        problems.append(
            f"{len(missing_dirs)} indexed snapshots have no directory (first {missing_dirs[0]})"
        )
    last_completed = (
        Snapshot.objects.filter(status=SnapshotStatus.COMPLETED)
        .order_by("-logical_date")
        .values_list("logical_date", flat=True)
        .first()
    )
    return StoreHealth(
        healthy=not problems,
        location=root.location,
        writable=root.writable and condition is None,
        free_space_bytes=root.free_space_bytes,
        snapshot_count=len(indexed),
        last_completed_date=last_completed,
        problems=tuple(problems),
        condition=condition,
    )


@dataclass(frozen=True)
class StorePerformance:
    operations: dict[str, performance.OperationFigures] | None  # None when Redis is unreachable
    cache: performance.CacheFigures | None
    cache_entries: int  # this process only
    cache_capacity: int
    snapshot_count: int
    total_bytes: int
    average_snapshot_bytes: float | None
    largest_snapshot_bytes: int | None
    problems: tuple[str, ...]


def store_performance() -> StorePerformance:
    """Timings and byte counts recorded by every process in Redis, cache use, index sizes."""
    problems = []
    try:
        operations = performance.operation_figures()
        cache = performance.cache_figures()
    except redis.RedisError as exc:
        operations, cache = None, None
        problems.append(f"timings unavailable: {exc}")
    sizes = Snapshot.objects.aggregate(
        total=Sum("size_bytes"), average=Avg("size_bytes"), largest=Max("size_bytes")
    )
    return StorePerformance(
        operations=operations,
        cache=cache,
        cache_entries=store.cache_entries(),
        cache_capacity=store.CACHE_CAPACITY,
        snapshot_count=Snapshot.objects.count(),
        total_bytes=int(sizes["total"] or 0),
        average_snapshot_bytes=float(sizes["average"]) if sizes["average"] is not None else None,
        largest_snapshot_bytes=sizes["largest"],
        problems=tuple(problems),
    )
