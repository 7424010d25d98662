"""One date's files under `snapshots/{date}/`: a district file per full-detail district,
`all-districts-rankings.json` when the date has an all-districts summary, then `manifest.json`
(listing exactly the district files written) and `metadata.json`."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from districts.ids import district_sort_key, site_district_id
from website.format.district import PerDistrictFile
from website.format.snapshot import (
    AllDistrictsRankingsFile,
    SnapshotManifestFile,
    SnapshotMetadataFile,
)
from website.tree.district import district_payload
from website.tree.encoding import SiteFile, site_file, stamp
from website.tree.facts import DateFacts, StoredDate
from website.tree.rankings import RANKING_VERSION, SCHEMA_VERSION
from website.tree.raw_rows import raw_rows

RANKINGS_FILE = "all-districts-rankings.json"
# Part of every date's source hash: raise it when a change of the builders changes the bytes
# of the files, so that the next publish rebuilds every date instead of skipping them.
TREE_VERSION = "3"


def district_file_name(district_id: str) -> str:
    """`district_02.json`: the site names a district's files by the id in its URLs."""
    return f"district_{site_district_id(district_id)}.json"


def snapshot_dir(day: date) -> str:
    return f"snapshots/{day.isoformat()}"


def _district_files(stored: StoredDate) -> list[SiteFile]:
    files = []
    for stats in stored.statistics:
        path = f"{snapshot_dir(stats.logical_date)}/{district_file_name(stats.district_id)}"
        raw = raw_rows(stored.raw[stats.district_id])
        files.append(site_file(path, PerDistrictFile, district_payload(stats, raw)))
    return files


def _as_of(stored: StoredDate) -> date:
    """The collection date the date's files say: the latest of its district files."""
    return max((s.as_of_date for s in stored.statistics), default=stored.facts.day)


def _rankings_file(facts: DateFacts) -> SiteFile | None:
    if facts.rankings is None:
        return None
    # The summary's as-of day (the site's collector: the day the CSV was downloaded, which
    # its pages show as "as of"); the file stays under the date it describes.
    as_of = facts.rankings_as_of or facts.day
    payload = {
        "metadata": {
            "snapshotId": facts.day.isoformat(),
            "calculatedAt": stamp(as_of),
            "schemaVersion": SCHEMA_VERSION,
            "calculationVersion": SCHEMA_VERSION,
            "rankingVersion": RANKING_VERSION,
            "sourceCsvDate": as_of.isoformat(),
            "csvFetchedAt": stamp(as_of),
            "totalDistricts": len(facts.rankings),
            "fromCache": False,
        },
        "rankings": list(facts.rankings),
    }
    return site_file(
        f"{snapshot_dir(facts.day)}/{RANKINGS_FILE}", AllDistrictsRankingsFile, payload
    )


def _manifest(facts: DateFacts, districts: list[SiteFile], rankings: SiteFile | None, as_of: date):
    entries = [
        {
            "districtId": site_district_id(district_id),
            "fileName": district_file_name(district_id),
            "status": "success",
            "fileSize": len(file.data),
            "lastModified": stamp(as_of),
        }
        for district_id, file in zip(facts.district_ids, districts, strict=True)
    ]
    payload: dict[str, Any] = {
        "snapshotId": facts.day.isoformat(),
        "createdAt": stamp(as_of),
        "districts": entries,
        # A district whose file we could not read has no entry, as in the site's manifests.
        "totalDistricts": len(entries) + len(facts.failed_ids),
        "successfulDistricts": len(entries),
        "failedDistricts": len(facts.failed_ids),
        "allDistrictsRankings": {
            "filename": RANKINGS_FILE,
            "size": len(rankings.data) if rankings else 0,
            "status": "present" if rankings else "missing",
        },
    }
    return site_file(f"{snapshot_dir(facts.day)}/manifest.json", SnapshotManifestFile, payload)


def _metadata(stored: StoredDate, as_of: date) -> SiteFile:
    facts = stored.facts
    ids = [site_district_id(d) for d in facts.district_ids]
    failed = [site_district_id(d) for d in facts.failed_ids]
    # The site's rule: success without a failed district, failed without a successful one.
    status = "partial" if ids and failed else "failed" if failed else "success"
    payload: dict[str, Any] = {
        "snapshotId": facts.day.isoformat(),
        "createdAt": stamp(as_of),
        "schemaVersion": SCHEMA_VERSION,
        "calculationVersion": SCHEMA_VERSION,
        "status": status,
        "configuredDistricts": sorted(ids + failed, key=district_sort_key),
        "successfulDistricts": ids,
        "failedDistricts": failed,
        "errors": list(facts.errors),
        "processingDuration": 0,
        "source": "backfill",
        "dataAsOfDate": facts.day.isoformat(),
    }
    if any(s.is_closing_period for s in stored.statistics):
        # Under the month-end date, with the day of the next month it was collected on.
        payload["isClosingPeriodData"] = True
        payload["collectionDate"] = as_of.isoformat()
        payload["logicalDate"] = facts.day.isoformat()
    return site_file(f"{snapshot_dir(facts.day)}/metadata.json", SnapshotMetadataFile, payload)


def source_sha256(stored: StoredDate) -> str:
    """The hash of everything a date's files are built from (its full-detail district files,
    their archived reports, its rankings and errors, the builders' version): equal hashes give
    equal files, so a publish skips a date whose hash the destination already has."""
    digest = hashlib.sha256(f"tree {TREE_VERSION} {stored.facts.day}".encode())
    for stats in stored.statistics:
        digest.update(f"|{stats.district_id}:{stored.checksums.get(stats.district_id)}".encode())
        for field_name, data in stored.raw.get(stats.district_id, {}).items():
            raw_hash = hashlib.sha256(data).hexdigest() if data is not None else "-"
            digest.update(f"|{field_name}:{raw_hash}".encode())
    facts = stored.facts
    digest.update(json.dumps([facts.rankings, facts.errors], sort_keys=True).encode())
    return digest.hexdigest()


def date_files(stored: StoredDate) -> tuple[SiteFile, ...]:
    """The files of one date read `with_raw` (none when it has neither a full-detail
    district nor a summary). District files and rankings come first, the manifest and
    metadata that describe them last."""
    if not stored.facts.published:
        return ()
    as_of = _as_of(stored)
    districts = _district_files(stored)
    rankings = _rankings_file(stored.facts)
    files = [*districts, *([rankings] if rankings else [])]
    files.append(_manifest(stored.facts, districts, rankings, as_of))
    files.append(_metadata(stored, as_of))
    return tuple(files)
