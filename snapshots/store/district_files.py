"""District files: one `DistrictStatistics` per (date, district), with a per-process read
cache; summary data never downgrades stored full detail."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from districts.dashboard.statistics import DETAIL_LEVELS, Detail, DistrictStatistics
from districts.ids import district_sort_key, is_canonical_district_id
from snapshots import performance
from snapshots.store.backends import StoreFiles, store_files
from snapshots.store.errors import SnapshotStoreError
from snapshots.store.layout import (
    DATE_DIR_RE,
    DISTRICT_FILE_RE,
    checked_district_id,
    detail_rank,
    district_name,
    encode,
)

log = logging.getLogger(__name__)


CACHE_CAPACITY = 256


@dataclass(frozen=True)
class DistrictWrite:
    """The outcome of `write_district`: what the district file holds now."""

    district_id: str
    logical_date: date
    detail: Detail
    kept_existing: bool  # True when summary data left a stored full-detail file in place
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredFile:
    """One district file as found on disk."""

    district_id: str
    file: str
    size: int
    sha256: str
    detail: Detail
    as_of_date: date
    data_month: str
    is_closing_period: bool
    # The district file's conflicting duplicate club rows (DistrictStatistics.duplicate_rows).
    duplicate_rows: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class DateScan:
    """The district files of one date: the readable ones and the names of unreadable ones."""

    files: tuple[StoredFile, ...]
    corrupt: tuple[str, ...]
    # (file name, the district id inside it) for files whose content names another district
    # than their file name: refused, never adopted as the district of their name.
    mismatched: tuple[tuple[str, str], ...] = ()


_cache: OrderedDict[str, tuple[Any, DistrictStatistics]] = OrderedDict()
_cache_lock = threading.Lock()


def cache_entries() -> int:
    """How many parsed district files this process holds in its read cache."""
    return len(_cache)


def _read_statistics(files: StoreFiles, name: str) -> DistrictStatistics:
    """Parse a district file, through the process's cache when the backend supports it.

    Raises FileNotFoundError when the file does not exist, SnapshotStoreError when it is corrupt.
    """
    if not files.cached:
        data = files.read(name)
        if data is None:
            raise FileNotFoundError(name)
        return _parse_statistics(name, data)
    key = files.cache_key(name)
    with _cache_lock:
        known = _cache.get(key)
    version, data = files.read_versioned(name, known[0] if known else None)
    if data is None and known is not None:
        with _cache_lock:
            _cache.move_to_end(key)
        performance.record_cache(hit=True)
        return known[1]
    statistics = _parse_statistics(name, data)
    with _cache_lock:
        _cache[key] = (version, statistics)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_CAPACITY:
            _cache.popitem(last=False)
    performance.record_cache(hit=False)
    return statistics


def _parse_statistics(name: str, data: bytes) -> DistrictStatistics:
    try:
        return DistrictStatistics.from_dict(json.loads(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise SnapshotStoreError(f"{name} is not a readable district file: {exc}") from exc


def write_district(*, logical_date: date, statistics: DistrictStatistics) -> DistrictWrite:
    """Store one district's statistics for a logical date, atomically and durably.

    Full-detail statistics replace what is stored; summary statistics over a stored full-detail
    file leave that file in place (`kept_existing=True`). The manifest is left alone:
    `finalize_snapshot` rebuilds it from the files. Raises SnapshotStoreError for a district id
    unfit for a file name, statistics of another date, an I/O error or a lock timeout.
    """
    started = time.perf_counter()
    district_id = checked_district_id(statistics.district_id)
    if statistics.logical_date != logical_date:
        raise SnapshotStoreError(
            f"statistics of district {district_id} are for {statistics.logical_date}, "
            f"not {logical_date}"
        )
    data = district_file_bytes(statistics)
    files = store_files()
    name = district_name(logical_date, district_id)
    with files.lock(logical_date):
        if detail_rank(statistics.detail) < detail_rank(DETAIL_LEVELS[-1]):
            existing = _stored_detail(files, name)
            if existing is not None and detail_rank(existing) > detail_rank(statistics.detail):
                kept = files.read(name) or b""
                return DistrictWrite(
                    district_id=district_id,
                    logical_date=logical_date,
                    detail=existing,
                    kept_existing=True,
                    size=len(kept),
                    sha256=hashlib.sha256(kept).hexdigest(),
                )
        files.write(name, data)
    performance.record_operation(
        operation="write_district", seconds=time.perf_counter() - started, size=len(data)
    )
    return DistrictWrite(
        district_id=district_id,
        logical_date=logical_date,
        detail=statistics.detail,
        kept_existing=False,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def district_file_bytes(statistics: DistrictStatistics) -> bytes:
    """The bytes of the district file of `statistics`, exactly as `write_district` stores them."""
    return encode(statistics.to_dict())


def district_sha256(statistics: DistrictStatistics) -> str:
    """The sha256 the district file of `statistics` has when `write_district` stores it."""
    return hashlib.sha256(district_file_bytes(statistics)).hexdigest()


def _stored_detail(files: StoreFiles, name: str) -> Detail | None:
    try:
        return _read_statistics(files, name).detail
    except FileNotFoundError:
        return None
    except SnapshotStoreError:
        log.error("replacing unreadable district file %s", name)
        return None


def read_district(*, logical_date: date, district_id: str) -> DistrictStatistics | None:
    """The stored statistics of one district on one date, or None when there are none.

    Raises SnapshotStoreError for a corrupt file, an invalid district id, or a file that holds
    another district than its name says.
    """
    started = time.perf_counter()
    files = store_files()
    name = district_name(logical_date, district_id)
    try:
        statistics = _read_statistics(files, name)
    except FileNotFoundError:
        return None
    if statistics.district_id != district_id:
        raise SnapshotStoreError(
            f"{name} holds district {statistics.district_id}, not {district_id}: refused"
        )
    performance.record_operation(operation="read_district", seconds=time.perf_counter() - started)
    return statistics


def exists(*, logical_date: date, district_id: str, detail: Detail = "summary") -> bool:
    """Is this district stored for this date at `detail` or a more detailed level?"""
    statistics = read_district(logical_date=logical_date, district_id=district_id)
    return statistics is not None and detail_rank(statistics.detail) >= detail_rank(detail)


def list_districts(*, logical_date: date) -> list[str]:
    """Ids of the districts that have a file for this date, in district order."""
    _, names = store_files().listdir(logical_date.isoformat())
    ids = [
        m.group(1)
        for m in map(DISTRICT_FILE_RE.match, names)
        if m and is_canonical_district_id(m.group(1))
    ]
    return sorted(ids, key=district_sort_key)


def stored_dates() -> list[date]:
    """Every logical date that has a directory in the store, oldest first."""
    directories, _ = store_files().listdir("")
    return sorted(date.fromisoformat(d) for d in directories if _is_date(d))


def _is_date(name: str) -> bool:
    if not DATE_DIR_RE.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def scan_date(*, logical_date: date) -> DateScan:
    """Read every district file of a date (sizes, checksums, detail and period fields)."""
    return scan_files(store_files(), logical_date)


def scan_files(files: StoreFiles, logical_date: date) -> DateScan:
    stored, corrupt, mismatched = [], [], []
    for district_id in list_districts(logical_date=logical_date):
        name = district_name(logical_date, district_id)
        data = files.read(name)
        if data is None:
            continue
        try:
            raw = json.loads(data)
            inside = str(raw["district_id"])
            if inside != district_id:
                log.error("snapshot %s: %s holds district %s", logical_date, name, inside)
                mismatched.append((name, inside))
                continue
            stored.append(
                StoredFile(
                    district_id=district_id,
                    file=name.rsplit("/", 1)[1],
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    detail=raw["detail"],
                    as_of_date=date.fromisoformat(raw["as_of_date"]),
                    data_month=raw.get("data_month") or "",
                    is_closing_period=bool(raw.get("is_closing_period")),
                    duplicate_rows=tuple(raw.get("duplicate_rows") or ()),
                )
            )
        except (ValueError, TypeError, KeyError):
            log.error("snapshot %s: unreadable district file %s", logical_date, name)
            corrupt.append(name)
    return DateScan(files=tuple(stored), corrupt=tuple(corrupt), mismatched=tuple(mismatched))
