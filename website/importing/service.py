"""Importing the site's history into the snapshot store, date by date.

Each district file of a date goes the way a download goes (`districts.dashboard.collect.
district_from`): its three reports, rebuilt from the raw rows (`exports.py`), are accepted
against the request our closing-date rules make for the date, normalized, archived as CSV
under their as-of date and stored; the date's manifest is then rebuilt and indexed, naming
`toast-stats` as the source of every imported file. A file that fails is refused with the
reason (and recorded as the district's error in the manifest); nothing of it is stored. The
dashboard is never asked anything.

A district already stored at full detail for the date is skipped: an import never replaces
what was collected (nor the downloaded CSVs in the raw archive), and importing a site twice
stores nothing the second time.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from districts.dashboard.collect import CollectedDistrict, district_from
from districts.dashboard.errors import DashboardError, ErrorType
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import request_for_as_of
from districts.ids import InvalidDistrictId, canonical_district_id, district_sort_key
from snapshots import store

from ..sources import SiteSource, open_source
from .exports import site_fetch
from .site_files import RefusedFile, metadata_as_of, parse_district_file

log = logging.getLogger(__name__)

# The provenance the manifest records for every imported district file.
SOURCE = "toast-stats"
# The manifest's collection strategy of a date the import is the first to store (the import
# job's strategy too); a date collected before keeps its own.
COLLECTION_STRATEGY = "import"
SNAPSHOTS_DIR = "snapshots"
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DISTRICT_FILE = re.compile(r"^district_([A-Za-z0-9]+)\.json$")


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one date did (or, in a dry run, would do)."""

    stored: tuple[str, ...]  # district ids stored for the date
    refused: tuple[tuple[str, str], ...]  # (file path in the site, reason)
    skipped: tuple[str, ...] = ()  # district ids already stored at full detail: left alone


def importable_dates(source: str, start: date | None = None, end: date | None = None) -> list[date]:
    """The dates the site at `source` has a snapshot directory for, within [start, end],
    oldest first. Raises SiteSourceError when the source cannot be opened or listed."""
    return _dates(open_source(source), start, end)


def import_date(source: str, day: date, *, dry_run: bool = False) -> ImportOutcome:
    """Import the site's snapshot of `day` from `source` (see the module docstring); a dry run
    checks every file the same way and writes nothing. Raises SiteSourceError when the source
    cannot be read, SnapshotStoreError when the store cannot take the data."""
    return _import_date(open_source(source), day, dry_run=dry_run)


def import_site(
    source: str, start: date | None = None, end: date | None = None, *, dry_run: bool = False
) -> list[tuple[date, ImportOutcome]]:
    """Import every date of the site at `source` within [start, end], oldest first. Raises as
    `import_date`."""
    site = open_source(source)
    return [(day, _import_date(site, day, dry_run=dry_run)) for day in _dates(site, start, end)]


def _dates(site: SiteSource, start: date | None, end: date | None) -> list[date]:
    directories, _ = site.listdir(SNAPSHOTS_DIR)
    found = []
    for name in directories:
        try:
            day = date.fromisoformat(name) if _DATE_DIR.match(name) else None
        except ValueError:
            day = None
        if day and (start is None or day >= start) and (end is None or day <= end):
            found.append(day)
    return sorted(found)


def _import_date(site: SiteSource, day: date, *, dry_run: bool) -> ImportOutcome:
    directory = f"{SNAPSHOTS_DIR}/{day.isoformat()}"
    files, refused = _district_files(site, directory)
    if not files:
        return ImportOutcome(stored=(), refused=tuple(refused))
    try:
        as_of = _as_of(site, directory, day)
    except RefusedFile as exc:
        refused += [(path, str(exc)) for path in files.values()]
        return ImportOutcome(stored=(), refused=tuple(sorted(refused)))
    stored: list[str] = []
    skipped: list[str] = []
    errors: dict[str, dict[str, str]] = {}
    for district_id, path in files.items():
        if store.exists(logical_date=day, district_id=district_id, detail="full"):
            skipped.append(district_id)
            continue
        try:
            collected = _collect(site, path, district_id=district_id, day=day, as_of=as_of)
        except (RefusedFile, DashboardError) as exc:
            refused.append((path, _reason(exc)))
            errors[district_id] = {"errorType": _error_type(exc), "message": _reason(exc)}
            continue
        if not dry_run:
            _store(collected, district_id=district_id, day=day)
        stored.append(district_id)
    if stored and not dry_run:
        _finalize(day, scope=list(files), stored=stored, errors=errors)
    log.info(
        "import of %s from %s: %s stored, %s refused, %s skipped%s",
        day,
        site.url,
        len(stored),
        len(refused),
        len(skipped),
        " (dry run)" if dry_run else "",
    )
    return ImportOutcome(stored=tuple(stored), refused=tuple(refused), skipped=tuple(skipped))


def _reason(exc: RefusedFile | DashboardError) -> str:
    return exc.message if isinstance(exc, DashboardError) else str(exc)


def _error_type(exc: RefusedFile | DashboardError) -> str:
    """The manifest's error type of a refusal: the acceptance's own, else the file's format."""
    return str(exc.error_type if isinstance(exc, DashboardError) else ErrorType.VALIDATION_FAILED)


def _district_files(
    site: SiteSource, directory: str
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The date's district files by canonical district id, in district order, and the files
    refused for their name alone."""
    _, names = site.listdir(directory)
    found: dict[str, str] = {}
    refused: list[tuple[str, str]] = []
    for name in names:
        match = _DISTRICT_FILE.match(name)
        if not match:
            continue
        path = f"{directory}/{name}"
        try:
            district_id = canonical_district_id(match[1])
        except InvalidDistrictId as exc:
            refused.append((path, f"not a district file name: {exc}"))
            continue
        if district_id in found:
            refused.append(
                (path, f"a second file of district {district_id} ({found[district_id]})")
            )
            continue
        found[district_id] = path
    ordered = {d: found[d] for d in sorted(found, key=district_sort_key)}
    return ordered, refused


def _as_of(site: SiteSource, directory: str, day: date) -> date:
    """The as-of date the site collected the date's data at (its metadata), which our
    closing-date rules must store under `day`. Raises RefusedFile otherwise."""
    path = f"{directory}/metadata.json"
    data = site.read(path)
    if data is None:
        raise RefusedFile(f"{path} is missing: the as-of date of the data is unknown")
    try:
        as_of = metadata_as_of(data, day)
        served = request_for_as_of(ReportType.DISTRICT_SUMMARY, as_of).logical_date
    except (RefusedFile, DashboardError) as exc:
        raise RefusedFile(f"{path}: {_reason(exc)}") from None
    if served != day:
        raise RefusedFile(
            f"{path}: the data was collected as of {as_of}, which our closing dates store "
            f"under {served}, not {day}"
        )
    return as_of


def _collect(
    site: SiteSource, path: str, *, district_id: str, day: date, as_of: date
) -> CollectedDistrict:
    """One district file read, checked against its name and date, and collected from its
    rebuilt exports. Raises RefusedFile or DashboardError."""
    data = site.read(path)
    if data is None:
        raise RefusedFile("the file vanished while the date was imported")
    district = parse_district_file(data)
    if district.status != "success":
        raise RefusedFile(
            f"the site recorded district {district.districtId} as failed: "
            f"{district.errorMessage or 'no message'}"
        )
    for field, value in (
        ("districtId", district.districtId),
        ("data.districtId", district.data.districtId),
    ):
        try:
            inside = canonical_district_id(value)
        except InvalidDistrictId:
            inside = None
        if inside != district_id:
            raise RefusedFile(
                f"{field} is {value!r}, but the file is that of district {district_id}"
            )
    if district.data.snapshotDate != day.isoformat():
        raise RefusedFile(f"data.snapshotDate is {district.data.snapshotDate!r}, not {day}")
    return district_from(
        site_fetch(district, day=day, as_of=as_of), district_id=district_id, logical_date=day
    )


def _store(collected: CollectedDistrict, *, district_id: str, day: date) -> None:
    for report, data in collected.raw.items():
        store.archive_raw_csv(
            as_of=collected.as_of, report=report, district_id=district_id, data=data
        )
    store.write_district(logical_date=day, statistics=collected.statistics)


def _finalize(
    day: date, *, scope: list[str], stored: list[str], errors: dict[str, dict[str, str]]
) -> None:
    """Rebuild and index the date's manifest: imported files marked `toast-stats`, refused
    districts as errors, and the errors an earlier collection recorded for districts that are
    still missing kept."""
    previous = store.read_manifest(logical_date=day) or {}
    present = set(stored) | {entry.get("districtId") for entry in previous.get("files") or []}
    kept = {
        entry["districtId"]: {"errorType": entry.get("errorType"), "message": entry.get("message")}
        for entry in previous.get("errors") or []
        if entry.get("districtId") and entry["districtId"] not in present
    }
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy=previous.get("collectionStrategy") or COLLECTION_STRATEGY,
        scope=sorted(set(scope) | set(previous.get("scope") or []), key=district_sort_key),
        job_id=previous.get("jobId"),
        district_errors={**kept, **errors},
        sources=dict.fromkeys(stored, SOURCE),
    )
