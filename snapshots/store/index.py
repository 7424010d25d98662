"""The `Snapshot` index: one row per manifest, written under the date's lock right after the
manifest itself (snapshots/store/manifests.py), so that row and manifest change together."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from snapshots.models import Snapshot, SnapshotStatus

log = logging.getLogger(__name__)


def manifest_index_fields(manifest: dict[str, Any]) -> dict[str, Any]:
    """The `Snapshot` row fields (other than the date) that mirror a manifest."""
    as_of = manifest.get("asOfDate")
    job_id = manifest.get("jobId")
    return {
        "as_of_date": date.fromisoformat(as_of) if as_of else None,
        "data_month": manifest.get("dataMonth") or "",
        "is_closing_period": bool(manifest.get("isClosingPeriod")),
        "status": manifest.get("status") or SnapshotStatus.FAILED,
        "collection_strategy": manifest.get("collectionStrategy") or "",
        "scope": list(manifest.get("scope") or []),
        "district_count": len(manifest.get("files") or []),
        "error_count": len(manifest.get("errors") or []),
        "size_bytes": sum(int(f.get("size") or 0) for f in manifest.get("files") or []),
        "job_id": uuid.UUID(job_id) if job_id else None,
        "created_at": _datetime(manifest.get("createdAt")),
        "updated_at": _datetime(manifest.get("updatedAt")),
    }


def _datetime(value: str | None) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            log.warning("manifest time %r is not ISO 8601; indexing it as now", value)
    return timezone.now()


def snapshot_index_upsert(*, manifest: dict[str, Any]) -> Snapshot:
    """Create or update the `Snapshot` index row of a manifest (called under the date's lock,
    right after the manifest is written)."""
    row, _ = Snapshot.objects.update_or_create(
        logical_date=date.fromisoformat(manifest["date"]),
        defaults=manifest_index_fields(manifest),
    )
    return row
