"""What the snapshot store already holds, as planning reads it: which districts of a date are
stored and at what detail (`stored_covers`, which a unit asks again when it starts), which dates
`reprocess=failed` leaves alone, and what the raw archive holds for a re-normalization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from districts.dashboard.reports import ReportType
from districts.dashboard.urls import request_for
from districts.ids import ALL_DISTRICTS
from snapshots import store
from snapshots.models import SnapshotStatus

from ...models import CollectionStrategy, UnitStatus


def covers(stored: dict[str, str], needed: tuple[str, ...], detail: str) -> bool:
    if needed == (ALL_DISTRICTS,):
        # A system-wide snapshot counts as stored when its manifest says it succeeded.
        return stored.get(ALL_DISTRICTS) == SnapshotStatus.COMPLETED
    rank = {"summary": 0, "full": 1}
    return all(rank.get(stored.get(d, ""), -1) >= rank[detail] for d in needed)


def stored_covers(day: date, *, needed: tuple[str, ...], detail: str) -> bool:
    """Whether the store holds `day` for every district of `needed` at `detail` or better, as
    planning would find it now (`covers`). Reads the district files themselves, not the
    manifest, which is assembled only after a job's last unit of the date: a unit starting right
    after another job stored its district sees it. `needed` == (ALL_DISTRICTS,) (every district)
    is decided by the manifest, like planning does. Raises SnapshotStoreError for an unreadable
    file."""
    if needed == (ALL_DISTRICTS,):
        return covers(stored_detail_levels(day), needed, detail)
    return all(
        store.exists(logical_date=day, district_id=district_id, detail=detail)
        for district_id in needed
    )


def not_failed_reason(day: date) -> str:
    """Why `reprocess=failed` leaves the date alone ("" when its snapshot is partial or failed)."""
    manifest = store.read_manifest(logical_date=day)
    if manifest is None:
        return "nothing stored: reprocess=failed redoes only partial or failed snapshots"
    status = manifest.get("status", "")
    if status in (SnapshotStatus.PARTIAL_SUCCESS, SnapshotStatus.FAILED):
        return ""
    return f"stored snapshot is {status}: reprocess=failed redoes only partial or failed ones"


def stored_detail_levels(day: date) -> dict[str, str]:
    """district id -> stored detail level for one date, for districts whose file exists
    (ALL_DISTRICTS -> the manifest's status when it covers every district); {} if none."""
    manifest = store.read_manifest(logical_date=day)
    if manifest is None:
        return {}
    # Only a system-wide collection over every district stands for "every district stored".
    every_district = manifest.get(
        "collectionStrategy"
    ) == CollectionStrategy.SYSTEM_WIDE and not manifest.get("scope")
    status = manifest.get("status", "") if every_district else ""
    # A district counts as stored only while its file is there: one deleted since the manifest
    # was written is collected again, repaired manifest or not.
    present = set(store.list_districts(logical_date=day))
    levels = {d: level for d, level in manifest.get("detailLevels", {}).items() if d in present}
    return {**levels, ALL_DISTRICTS: status}


@dataclass(frozen=True)
class ArchivedDate:
    """What the raw archive holds for one date: who has the CSV a re-normalization reads first
    (the club performance of each district, or the district summary) under the as-ofs the
    date's data may have been collected at."""

    report: str
    as_ofs: tuple[date, ...]
    present: frozenset[str]


def archive(day: date, *, per_district: bool) -> ArchivedDate:
    report = ReportType.CLUB_PERFORMANCE if per_district else ReportType.DISTRICT_SUMMARY
    manifest = store.read_manifest(logical_date=day) or {}
    stored = date.fromisoformat(manifest["asOfDate"]) if manifest.get("asOfDate") else None
    # Every report of a date is requested as of the same day.
    requested = request_for(ReportType.DISTRICT_SUMMARY, day).as_of
    as_ofs = tuple(dict.fromkeys(d for d in (stored, requested) if d))
    present: set[str] = set()
    for as_of in as_ofs:
        present |= store.archived_districts(as_of=as_of, report=report)
    return ArchivedDate(str(report), as_ofs, frozenset(present))


def unarchived(archive: ArchivedDate | None, district_id: str) -> tuple[str, str] | None:
    """(unavailable, why) when the archive has no CSV for `district_id` on the date."""
    if archive is None or district_id in archive.present:
        return None
    who = "every district" if district_id == ALL_DISTRICTS else f"district {district_id}"
    return (
        UnitStatus.UNAVAILABLE,
        f"no archived CSV of {archive.report} for {who} as of "
        f"{' or '.join(map(str, archive.as_ofs))}: nothing to re-normalize",
    )
