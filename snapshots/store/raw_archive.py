"""The raw CSV archive: every export exactly as downloaded, by as-of date, report and
district."""

from __future__ import annotations

import logging
import time
from datetime import date

from districts.ids import ALL_DISTRICTS, is_canonical_district_id
from snapshots import performance
from snapshots.store.backends import remove_quietly, store_files
from snapshots.store.layout import RAW_DISTRICT_FILE_RE, raw_name

log = logging.getLogger(__name__)


def archive_raw_csv(*, as_of: date, report: str, district_id: str | None, data: bytes) -> str:
    """Keep a downloaded CSV exactly as received, one file per (as-of date, report, district).

    `district_id` is None for system-wide reports (the district summary). Replaces an earlier
    copy atomically. Returns the stored name. Raises SnapshotStoreError.
    """
    started = time.perf_counter()
    files = store_files()
    name = raw_name(as_of, report, district_id)
    files.write(name, bytes(data))
    # A writer killed mid-write leaves its temporary file; the next writer here clears it.
    for leftover in files.dead_temp_files(name.rsplit("/", 1)[0]):
        remove_quietly(files, leftover)
    performance.record_operation(
        operation="archive_raw_csv", seconds=time.perf_counter() - started, size=len(data)
    )
    return name


def read_raw_csv(*, as_of: date, report: str, district_id: str | None) -> bytes | None:
    """The archived CSV bytes, or None when that export was never archived."""
    started = time.perf_counter()
    data = store_files().read(raw_name(as_of, report, district_id))
    performance.record_operation(
        operation="read_raw_csv", seconds=time.perf_counter() - started, size=len(data or b"")
    )
    return data


def archived_districts(*, as_of: date, report: str) -> set[str]:
    """Which districts have an archived CSV of `report` as of `as_of`: canonical ids, and
    `ALL_DISTRICTS` for a system-wide report's `all.csv`. One directory listing."""
    directory = raw_name(as_of, report, None).rsplit("/", 1)[0]
    _, names = store_files().listdir(directory)
    found = {ALL_DISTRICTS} if "all.csv" in names else set()
    for name in names:
        match = RAW_DISTRICT_FILE_RE.match(name)
        if match and is_canonical_district_id(match.group(1)):
            found.add(match.group(1))
    return found
