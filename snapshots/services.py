"""Checking the store against itself (manifests, files and the `Snapshot` index), and
repairing only what can be proven.

The index row of a manifest is written by the store itself (snapshots/store/index.py), under
the date's lock when it publishes the manifest.

`snapshots_verify` compares every manifest with the district files on disk and reports every
kind of damage: a listed file that is missing (`file_missing`), a file the manifest does not list
(`file_extra`), a file whose content changed since the manifest recorded it (`tampered`), a file
that holds another district than its name (`district_mismatch`), an unreadable file
(`file_corrupt`), a missing or unreadable manifest, the `Snapshot` index against the manifests,
and temporary files of any name (`temp_leftover` when their writer is provably gone, `temp_file`
when it may still be alive).

With `repair=True` it fixes what it can prove, then checks again: manifests are rebuilt from the
files with a missing district recorded as an error (the snapshot becomes `partial_success`, and
planning collects the district again), keeping the job id, strategy and scope (from the index
when the manifest is unreadable); index rows are re-indexed or dropped; dead writers' temporary
files are deleted. A missing or tampered district file whose exports are in the raw CSV archive
is written again from them when the result is byte for byte the published file. It never
re-hashes a tampered file, never adopts a file under another district's name and never deletes a
temporary file a live writer may own: those remain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from districts.dashboard.csv import accept_export
from districts.dashboard.errors import DashboardError
from districts.dashboard.normalize import normalize_district
from districts.dashboard.reports import PER_DISTRICT_REPORTS, ReportType
from districts.dashboard.urls import request_for
from districts.ids import district_sort_key
from snapshots import store
from snapshots.models import Snapshot

log = logging.getLogger(__name__)

# Problems a manifest rebuild fixes; the others are fixed by re-indexing or cleanup.
# Tampered files, district mismatches and unreadable files are never "repaired" by a rebuild.
MANIFEST_KINDS = frozenset({"manifest_missing", "manifest_invalid", "file_missing", "file_extra"})
INDEX_FIELDS = (
    "as_of_date",
    "data_month",
    "is_closing_period",
    "status",
    "collection_strategy",
    "scope",
    "district_count",
    "error_count",
    "size_bytes",
    "job_id",
)


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str
    logical_date: date | None
    detail: str
    district_id: str | None = None

    def __str__(self) -> str:
        where = self.logical_date.isoformat() if self.logical_date else "store"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class VerificationReport:
    dates_checked: int
    found: tuple[Problem, ...]  # before any repair
    remaining: tuple[Problem, ...]  # after the repair (equal to `found` without one)


def snapshots_verify(*, repair: bool = False) -> VerificationReport:
    """Check the whole store; with `repair`, fix what can be fixed and check again.

    Unreadable district files cannot be repaired and stay in `remaining`. Raises
    SnapshotStoreError when the storage cannot be read or a date's lock cannot be taken.
    """
    dates, found = _check()
    if not repair or not found:
        return VerificationReport(dates_checked=len(dates), found=found, remaining=found)
    _repair(found)
    _, remaining = _check()
    return VerificationReport(dates_checked=len(dates), found=found, remaining=remaining)


def _check() -> tuple[list[date], tuple[Problem, ...]]:
    rows = {row.logical_date: row for row in Snapshot.objects.all()}
    dates = sorted(set(store.stored_dates()) | set(rows))
    problems: list[Problem] = []
    for logical_date in dates:
        problems.extend(_check_date(logical_date, rows.get(logical_date)))
    dead = set(store.temp_leftovers())
    for name in store.temp_files():
        if name in dead:
            problems.append(Problem("temp_leftover", None, f"{name} (its writer is gone)"))
        else:
            problems.append(
                Problem(
                    "temp_file",
                    None,
                    f"{name} (its writer may be alive; --repair removes it once it is older "
                    f"than {store.STALE_TEMP_SECONDS} s)",
                )
            )
    return dates, tuple(problems)


def _check_date(logical_date: date, row: Snapshot | None) -> list[Problem]:
    problems = []

    def problem(kind: str, detail: str, district_id: str | None = None) -> None:
        problems.append(Problem(kind, logical_date, detail, district_id))

    scan = store.scan_date(logical_date=logical_date)
    for name in scan.corrupt:
        problem("file_corrupt", f"{name} is not a readable district file")
    for name, inside in scan.mismatched:
        problem("district_mismatch", f"{name} holds district {inside}: refused, not adopted")
    try:
        manifest = store.read_manifest(logical_date=logical_date)
    except store.SnapshotStoreError as exc:
        problem("manifest_invalid", str(exc))
        return problems
    on_disk = {f.district_id: f for f in scan.files}
    if manifest is None:
        if on_disk:
            problem("manifest_missing", f"{len(on_disk)} district files but no manifest")
        if row is not None:
            problem("index_orphan", "an index row without a manifest")
        return problems
    listed = {entry.get("districtId"): entry for entry in manifest.get("files") or []}
    for district_id, entry in listed.items():
        stored = on_disk.get(district_id)
        if stored is None:
            missing = f"district {district_id}: {entry.get('file')} is missing"
            problem("file_missing", missing, district_id)
        elif (stored.size, stored.sha256) != (entry.get("size"), entry.get("sha256")):
            problem(
                "tampered",
                f"district {district_id}: content changed since the manifest recorded it "
                "(size or sha256 differs); collect the date again",
                district_id,
            )
    for district_id in sorted(set(on_disk) - set(listed), key=district_sort_key):
        problem("file_extra", f"district {district_id}: a file the manifest does not list")
    if row is None:
        problem("index_missing", "a manifest without an index row")
    else:
        stale = _stale_fields(row, manifest)
        if stale:
            problem("index_stale", f"index differs in {', '.join(stale)}")
    return problems


def _stale_fields(row: Snapshot, manifest: dict[str, Any]) -> list[str]:
    expected = store.manifest_index_fields(manifest)
    return [name for name in INDEX_FIELDS if getattr(row, name) != expected[name]]


def _repair(problems: tuple[Problem, ...]) -> None:
    for p in problems:
        restorable = p.kind in ("file_missing", "tampered") and p.logical_date and p.district_id
        if restorable and _restore_from_archive(
            logical_date=p.logical_date, district_id=p.district_id
        ):
            log.info("snapshots_verify: %s restored from the raw CSV archive", p)
    rebuild = sorted({p.logical_date for p in problems if p.kind in MANIFEST_KINDS})
    reindex = sorted(
        {p.logical_date for p in problems if p.kind.startswith("index_")} - set(rebuild)
    )
    for logical_date in rebuild:
        log.info("snapshots_verify: rebuilding the manifest of %s", logical_date)
        store.rebuild_manifest(logical_date=logical_date)
    for logical_date in reindex:
        log.info("snapshots_verify: re-indexing %s", logical_date)
        store.reindex(logical_date=logical_date)
    if any(p.kind == "temp_leftover" for p in problems):
        removed = store.remove_temp_leftovers()
        log.info("snapshots_verify: removed %d leftover temporary files", removed)


def _restore_from_archive(*, logical_date: date, district_id: str) -> bool:
    """Write a full-detail district file again from its exports in the raw CSV archive, only
    when the result is byte for byte the file the manifest recorded (same sha256): proof that
    it is the published file. False, writing nothing, otherwise (no manifest entry, an export
    not archived, an export that no longer parses, or a different result)."""
    try:
        manifest = store.read_manifest(logical_date=logical_date)
        entry = next(
            (f for f in (manifest or {}).get("files") or [] if f.get("districtId") == district_id),
            None,
        )
        if entry is None or not manifest.get("asOfDate"):
            return False
        as_of = date.fromisoformat(manifest["asOfDate"])
        parsed = {}
        for report in PER_DISTRICT_REPORTS:
            data = store.read_raw_csv(as_of=as_of, report=report, district_id=district_id)
            if data is None:
                return False
            request = request_for(report, logical_date, district_id)
            parsed[report] = accept_export(
                data,
                report=report,
                data_month=request.data_month,
                as_of=request.as_of,
                district_id=request.district_id,
            )
        statistics = normalize_district(
            district_performance=parsed[ReportType.DISTRICT_PERFORMANCE],
            division_performance=parsed[ReportType.DIVISION_PERFORMANCE],
            club_performance=parsed[ReportType.CLUB_PERFORMANCE],
            district_id=district_id,
            logical_date=logical_date,
        )
        if store.district_sha256(statistics) != entry.get("sha256"):
            log.warning(
                "snapshots_verify: district %s of %s rebuilt from the archive differs from the "
                "published file; not restored",
                district_id,
                logical_date,
            )
            return False
        store.write_district(logical_date=logical_date, statistics=statistics)
    except (DashboardError, store.SnapshotStoreError, ValueError) as exc:
        log.warning(
            "snapshots_verify: district %s of %s not restored: %s", district_id, logical_date, exc
        )
        return False
    return True
