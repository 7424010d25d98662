"""Derived JSON documents (`analytics/...json`) stored beside the snapshots."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from snapshots.store.backends import store_files
from snapshots.store.errors import SnapshotStoreError
from snapshots.store.layout import ANALYTICS_DIR, encode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredDocument:
    name: str
    size: int
    sha256: str


def _document_name(name: str) -> str:
    parts = name.split("/")
    if (
        len(parts) < 2
        or parts[0] != ANALYTICS_DIR
        or any(not p or p.startswith(".") or p == ".." for p in parts)
        or not name.endswith(".json")
    ):
        raise SnapshotStoreError(f"invalid analytics document name {name!r}")
    return name


def write_document(*, name: str, payload: dict[str, Any]) -> StoredDocument:
    """Store a derived JSON document (`analytics/...json`) atomically and durably, beside the
    snapshots. The bytes depend only on `payload` (its key order included), so a payload built
    deterministically is re-written byte for byte. Raises SnapshotStoreError."""
    name = _document_name(name)
    data = encode(payload)
    store_files().write(name, data)
    return StoredDocument(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def read_document(*, name: str) -> dict[str, Any] | None:
    """A document written by `write_document`, or None when there is none. Raises
    SnapshotStoreError for an unreadable file or an invalid name."""
    name = _document_name(name)
    data = store_files().read(name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SnapshotStoreError(f"{name} is not a readable JSON document: {exc}") from exc
