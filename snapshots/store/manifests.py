"""Manifests: rebuilt from a date's district files under the date's lock, written, and
mirrored in the `Snapshot` index."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import date
from typing import Any

from django.utils import timezone

from districts.ids import district_sort_key
from snapshots import performance
from snapshots.models import Snapshot, SnapshotStatus
from snapshots.store.backends import StoreFiles, remove_quietly, store_files
from snapshots.store.district_files import DateScan, StoredFile, scan_files
from snapshots.store.errors import SnapshotStoreError
from snapshots.store.index import snapshot_index_upsert
from snapshots.store.layout import encode, manifest_name

log = logging.getLogger(__name__)


SCHEMA_VERSION = 1


def finalize_snapshot(
    *,
    logical_date: date,
    collection_strategy: str,
    scope: list[str],
    job_id: uuid.UUID | str | None,
    district_errors: dict[str, dict[str, str]],
    as_of_date: date | None = None,
    data_month: str | None = None,
    is_closing_period: bool | None = None,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Rebuild the date's manifest from its district files, write it and index it.

    Under the date's lock: lists every district file on disk with its size and sha256, records
    `district_errors` (district id, or ALL_DISTRICTS for the whole date -> {errorType,
    message}) and sets the status: `failed` when no district file exists, `partial_success` when
    there are errors, else `completed`. The as-of date, data month and closing flag default to
    those of the district files. `sources` names where district files came from when not from
    the dashboard (district id -> `toast-stats` for an import); a file's entry keeps the source
    the previous manifest gave it while its content is unchanged. Upserts the `Snapshot` index
    row and returns the manifest. Raises SnapshotStoreError.
    """
    started = time.perf_counter()
    errors = [
        {
            "districtId": str(district_id),
            "errorType": str((error or {}).get("errorType") or ""),
            "message": str((error or {}).get("message") or ""),
        }
        for district_id, error in district_errors.items()
    ]
    job = _checked_job_id(job_id)
    files = store_files()
    with files.lock(logical_date):
        previous = _load_manifest(files, logical_date, tolerate_corrupt=True)
        manifest = _build_manifest(
            files,
            logical_date,
            previous=previous,
            collection_strategy=collection_strategy,
            scope=[str(d) for d in scope],
            job_id=job,
            errors=errors,
            as_of_date=as_of_date,
            data_month=data_month,
            is_closing_period=is_closing_period,
            sources=sources or {},
        )
        _publish_manifest(files, logical_date, manifest)
    performance.record_operation(
        operation="finalize_snapshot",
        seconds=time.perf_counter() - started,
        size=sum(f["size"] for f in manifest["files"]),
    )
    return manifest


MISSING_FILE_ERROR = "file_missing"


def rebuild_manifest(*, logical_date: date) -> dict[str, Any] | None:
    """Rebuild a date's manifest from its files, for repairs; it claims only what it can prove.

    Keeps the recorded job, collection strategy, scope and errors (from the `Snapshot` index
    row when the manifest itself is unreadable). A district the old manifest listed whose file
    is gone is recorded as an error (`file_missing`), so the snapshot becomes
    `partial_success`. A listed file whose content changed keeps its recorded size and sha256
    (never re-hashed: verify keeps reporting it). A file holding another district than its
    name is left out. With no district file and no manifest or index row there is no
    snapshot: a corrupt manifest and the index row are removed and None is returned.
    Raises SnapshotStoreError.
    """
    files = store_files()
    with files.lock(logical_date):
        previous = _load_manifest(files, logical_date, tolerate_corrupt=True)
        scan = scan_files(files, logical_date)
        row = Snapshot.objects.filter(logical_date=logical_date).first()
        if previous is None and not scan.files and row is None:
            files.delete(manifest_name(logical_date))
            return None
        if previous is None and row is not None:
            previous = {
                "collectionStrategy": row.collection_strategy,
                "scope": list(row.scope or []),
                "jobId": str(row.job_id) if row.job_id else None,
                "createdAt": row.created_at.isoformat(),
            }
        previous = previous or {}
        listed = {entry.get("districtId"): entry for entry in previous.get("files") or []}
        errors = list(previous.get("errors") or [])
        on_disk = {f.district_id for f in scan.files}
        with_error = {e.get("districtId") for e in errors}
        for district_id in sorted(set(listed) - on_disk - with_error, key=district_sort_key):
            errors.append(
                {
                    "districtId": district_id,
                    "errorType": MISSING_FILE_ERROR,
                    "message": f"{listed[district_id].get('file')} is missing from the store",
                }
            )
        manifest = _build_manifest(
            files,
            logical_date,
            previous=previous,
            collection_strategy=previous.get("collectionStrategy") or "unknown",
            scope=list(previous.get("scope") or []),
            job_id=previous.get("jobId"),
            errors=errors,
            as_of_date=None,
            data_month=None,
            is_closing_period=None,
            scan=scan,
        )
        for entry in manifest["files"]:
            recorded = listed.get(entry["districtId"])
            if recorded and (recorded.get("size"), recorded.get("sha256")) != (
                entry["size"],
                entry["sha256"],
            ):
                entry.update(size=recorded.get("size"), sha256=recorded.get("sha256"))
        _publish_manifest(files, logical_date, manifest)
    return manifest


def reindex(*, logical_date: date) -> Snapshot | None:
    """Make the index row of a date match its manifest (delete it when there is none)."""
    manifest = read_manifest(logical_date=logical_date)
    if manifest is None:
        Snapshot.objects.filter(logical_date=logical_date).delete()
        return None
    return snapshot_index_upsert(manifest=manifest)


def read_manifest(*, logical_date: date) -> dict[str, Any] | None:
    """The manifest of a date, or None when the date has none. Raises SnapshotStoreError."""
    started = time.perf_counter()
    manifest = _load_manifest(store_files(), logical_date, tolerate_corrupt=False)
    performance.record_operation(operation="read_manifest", seconds=time.perf_counter() - started)
    return manifest


def _load_manifest(
    files: StoreFiles, logical_date: date, *, tolerate_corrupt: bool
) -> dict[str, Any] | None:
    name = manifest_name(logical_date)
    data = files.read(name)
    if data is None:
        return None
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        if tolerate_corrupt:
            log.error("snapshot %s: replacing unreadable manifest: %s", logical_date, exc)
            return None
        raise SnapshotStoreError(f"{name} is not a readable manifest: {exc}") from exc
    # Manifests written before the status words were unified with the job's.
    status = manifest.get("status")
    manifest["status"] = _LEGACY_STATUSES.get(status, status)
    return manifest


_LEGACY_STATUSES = {"success": SnapshotStatus.COMPLETED, "partial": SnapshotStatus.PARTIAL_SUCCESS}


def _checked_job_id(job_id: uuid.UUID | str | None) -> str | None:
    if job_id in (None, ""):
        return None
    try:
        return str(uuid.UUID(str(job_id)))
    except ValueError as exc:
        raise SnapshotStoreError(f"invalid job id {job_id!r}") from exc


def _build_manifest(
    files: StoreFiles,
    logical_date: date,
    *,
    previous: dict[str, Any] | None,
    collection_strategy: str,
    scope: list[str],
    job_id: str | None,
    errors: list[dict[str, str]],
    as_of_date: date | None,
    data_month: str | None,
    is_closing_period: bool | None,
    scan: DateScan | None = None,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    stored = (scan or scan_files(files, logical_date)).files
    latest = max(stored, key=lambda f: f.as_of_date, default=None)
    if as_of_date is None and latest is not None:
        as_of_date = latest.as_of_date
    if data_month is None and latest is not None:
        data_month = latest.data_month
    if is_closing_period is None:
        is_closing_period = latest.is_closing_period if latest is not None else False
    if not stored:
        status = SnapshotStatus.FAILED
    elif errors:
        status = SnapshotStatus.PARTIAL_SUCCESS
    else:
        status = SnapshotStatus.COMPLETED
    now = timezone.now().isoformat()
    return {
        "schemaVersion": SCHEMA_VERSION,
        "snapshotId": logical_date.isoformat(),
        "date": logical_date.isoformat(),
        "asOfDate": as_of_date.isoformat() if as_of_date else None,
        "dataMonth": data_month or None,
        "isClosingPeriod": bool(is_closing_period),
        "status": str(status),
        "collectionStrategy": collection_strategy,
        "scope": scope,
        "detailLevels": {f.district_id: f.detail for f in stored},
        "jobId": job_id,
        "createdAt": (previous or {}).get("createdAt") or now,
        "updatedAt": now,
        "files": [
            {
                "districtId": f.district_id,
                "file": f.file,
                "size": f.size,
                "sha256": f.sha256,
                **_source_of(f, previous, sources or {}),
            }
            for f in stored
        ],
        "errors": sorted(errors, key=lambda e: district_sort_key(e["districtId"])),
        # Clubs a source export listed twice with different cells: which row was kept and why.
        "duplicates": {
            f.district_id: [
                {
                    "report": d.get("report"),
                    "clubNumber": d.get("club_number"),
                    "keptLine": d.get("kept_line"),
                    "droppedLines": d.get("dropped_lines"),
                    "reason": d.get("reason"),
                }
                for d in f.duplicate_rows
            ]
            for f in stored
            if f.duplicate_rows
        },
    }


def _source_of(
    stored: StoredFile, previous: dict[str, Any] | None, sources: dict[str, str]
) -> dict[str, str]:
    """`{"source": ...}` for a file that did not come from the dashboard (absent: it did): the
    one given now, else the previous manifest's for the same bytes (a file rewritten since by a
    collection lost it)."""
    if stored.district_id in sources:
        return {"source": sources[stored.district_id]}
    for entry in (previous or {}).get("files") or []:
        if entry.get("districtId") == stored.district_id and entry.get("source"):
            return {"source": entry["source"]} if entry.get("sha256") == stored.sha256 else {}
    return {}


def _publish_manifest(files: StoreFiles, logical_date: date, manifest: dict[str, Any]) -> None:
    # Called under the date's lock, so manifest and index row change together and in order.
    files.write(manifest_name(logical_date), encode(manifest, indent=2))
    for name in files.dead_temp_files(logical_date.isoformat()):
        remove_quietly(files, name)
    snapshot_index_upsert(manifest=manifest)
