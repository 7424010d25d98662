"""Housekeeping and health: temporary files of dead writers, where the store writes and
whether it can, what a date's directory holds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from snapshots.store.backends import remove_quietly, store_files
from snapshots.store.layout import DISTRICT_FILE_RE, MANIFEST_FILE

log = logging.getLogger(__name__)


def temp_leftovers() -> list[str]:
    """Temporary files left by writers that died (a live writer's files are not listed)."""
    return store_files().all_dead_temp_files()


def temp_files() -> list[str]:
    """Every temporary file in the store, of any name, whoever wrote it."""
    return store_files().all_temp_files()


def remove_temp_leftovers() -> int:
    """Delete the temporary files of dead writers; returns how many were removed."""
    files = store_files()
    leftovers = files.all_dead_temp_files()
    for name in leftovers:
        remove_quietly(files, name)
    return len(leftovers)


@dataclass(frozen=True)
class RootStatus:
    location: str
    writable: bool
    free_space_bytes: int | None


def root_status() -> RootStatus:
    """Where the store writes, whether a file can be created there, and the free space."""
    files = store_files()
    return RootStatus(
        location=files.describe(), writable=files.writable(), free_space_bytes=files.free_space()
    )


def free_space() -> int | None:
    """The store's free space in bytes (None for a bucket, or when it cannot be read), without
    the probe write of `root_status` (for frequent readers: metrics scrapes)."""
    return store_files().free_space()


@dataclass(frozen=True)
class DateDirectory:
    has_manifest: bool
    district_files: int


def date_directory(*, logical_date: date) -> DateDirectory:
    """What a date's directory holds, from one listing (no file is read)."""
    _, names = store_files().listdir(logical_date.isoformat())
    return DateDirectory(
        has_manifest=MANIFEST_FILE in names,
        district_files=sum(1 for n in names if DISTRICT_FILE_RE.match(n)),
    )
