"""The store's names (which file holds what) and its JSON encoding; every name is checked, so
no district id or report name can point outside its directory."""

from __future__ import annotations

import json
import logging
import re
import socket
from datetime import date
from typing import Any

from districts.dashboard.statistics import DETAIL_LEVELS
from districts.ids import is_canonical_district_id
from snapshots.store.errors import SnapshotStoreError

log = logging.getLogger(__name__)


MANIFEST_FILE = "manifest.json"
RAW_DIR = "raw"
ANALYTICS_DIR = "analytics"

DATE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DISTRICT_FILE_RE = re.compile(r"^district_([A-Za-z0-9]{1,3})\.json$")
RAW_DISTRICT_FILE_RE = re.compile(r"^district_([A-Za-z0-9]{1,3})\.csv$")
REPORT_RE = re.compile(r"^[a-z]{1,40}$")

# Each date directory's lock file, and the temporary files of writes in progress:
# `.<name>.<host>.<pid>.<random>.tmp`, so a dead writer's leftovers can be told apart.
LOCK_FILE = ".lock"
TEMP_SUFFIX = ".tmp"
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
# How long a writer waits for a date's lock.
LOCK_TIMEOUT_SECONDS = 30.0
# Temporary files of writers on other hosts cannot be checked for a live process; after this
# long no write can still be in progress.
STALE_TEMP_SECONDS = 3600


def checked_district_id(district_id: str) -> str:
    if not is_canonical_district_id(district_id):
        raise SnapshotStoreError(f"invalid district id {district_id!r}: expected a canonical id")
    return district_id


def district_name(logical_date: date, district_id: str) -> str:
    return f"{logical_date.isoformat()}/district_{checked_district_id(district_id)}.json"


def manifest_name(logical_date: date) -> str:
    return f"{logical_date.isoformat()}/{MANIFEST_FILE}"


def raw_name(as_of: date, report: str, district_id: str | None) -> str:
    report = str(report)
    if not REPORT_RE.match(report):
        raise SnapshotStoreError(f"invalid report name {report!r}")
    file = "all.csv" if district_id is None else f"district_{checked_district_id(district_id)}.csv"
    return f"{RAW_DIR}/{as_of.isoformat()}/{report}/{file}"


def detail_rank(detail: str) -> int:
    return DETAIL_LEVELS.index(detail) if detail in DETAIL_LEVELS else -1


def encode(value: Any, *, indent: int | None = None) -> bytes:
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=None if indent else (",", ":"),
        )
    except ValueError as exc:
        raise SnapshotStoreError(f"not storable as JSON: {exc}") from exc
    return text.encode("utf-8")
