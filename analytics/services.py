"""Analytics generation: the documents of `documents.py` computed from the stored snapshots,
written atomically beside them through the store (`store.write_document`) and indexed in
`AnalyticsOutput`; and what the store says about a date (its snapshot status, its archived
summary) for planning and running analytics units."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from districts.dashboard.collect import accept
from districts.dashboard.errors import DashboardError
from districts.dashboard.normalize import normalize_summary
from districts.dashboard.reports import ReportType
from districts.dashboard.statistics import DistrictStatistics
from districts.dashboard.urls import request_for, request_for_as_of
from districts.ids import ALL_DISTRICTS, canonical_district_id
from snapshots import store
from snapshots.models import Snapshot, SnapshotStatus

from .documents import (
    district_series_document,
    district_series_name,
    program_year_dates,
    rankings_document,
    rankings_name,
)
from .models import AnalyticsKind, AnalyticsOutput

log = logging.getLogger(__name__)


# --- reading the store ------------------------------------------------------------------------


def snapshot_statuses(dates: Sequence[date]) -> dict[date, str | None]:
    """date -> the status of its snapshot (completed, partial_success, failed) or None when it
    has no manifest: from the `Snapshot` index, the manifest for dates without a row."""
    statuses: dict[date, str | None] = dict(
        Snapshot.objects.filter(logical_date__in=list(dates)).values_list("logical_date", "status")
    )
    for day in dates:
        if day not in statuses:
            try:
                manifest = store.read_manifest(logical_date=day)
            except store.SnapshotStoreError as exc:
                log.error("snapshot %s: manifest unreadable: %s", day, exc)
                manifest = None
            statuses[day] = manifest.get("status") if manifest else None
    return statuses


def _read(day: date, district_id: str) -> DistrictStatistics | None:
    """A district file, or None when it is missing or unreadable (logged)."""
    try:
        return store.read_district(logical_date=day, district_id=district_id)
    except store.SnapshotStoreError as exc:
        log.error("analytics: district %s of %s not read: %s", district_id, day, exc)
        return None


# --- generators -------------------------------------------------------------------------------


class NothingToRead(Exception):
    """No stored district file for the document: nothing is written (the unit is unavailable)."""


@dataclass(frozen=True)
class Generated:
    output: AnalyticsOutput
    document: dict[str, Any]


def generate_district_series(
    *, district_id: str, program_year: str, job_id: Any = None
) -> Generated:
    """Read every stored date of `program_year` for the district, write its time-series document
    (`analytics/districts/<id>/<program year>.json`) and upsert its `AnalyticsOutput` row.

    The document always covers the whole program year, whatever range asked for it, so a re-run
    over the same snapshots writes the same bytes. Dates without the district's file are
    reported as missing, dates whose snapshot is not completed as partial. Raises NothingToRead
    when no stored date of the year has the district, SnapshotStoreError when the document
    cannot be written, ValueError for a malformed program year.
    """
    district_id = canonical_district_id(district_id)
    dates = program_year_dates(program_year)
    read: list[DistrictStatistics] = []
    missing: list[date] = []
    for day in dates:
        statistics = _read(day, district_id)
        if statistics is None or statistics.program_year != program_year:
            missing.append(day)
        else:
            read.append(statistics)
    if not read:
        raise NothingToRead(
            f"no stored snapshot of program year {program_year} has district {district_id}"
            + (f" ({len(dates)} snapshot dates looked at)" if dates else "")
        )
    statuses = snapshot_statuses([s.logical_date for s in read])
    partial = [d for d, status in statuses.items() if status != SnapshotStatus.COMPLETED]
    document = district_series_document(
        district_id=district_id,
        program_year=program_year,
        statistics=read,
        missing_dates=missing,
        partial_dates=partial,
    )
    output = _write(
        name=district_series_name(district_id, program_year),
        document=document,
        kind=AnalyticsKind.DISTRICT_TIME_SERIES,
        district_id=district_id,
        program_year=program_year,
        logical_date=None,
        snapshot_count=len(read),
        missing=missing,
        partial=partial,
        job_id=job_id,
    )
    return Generated(output=output, document=document)


@dataclass(frozen=True)
class DateSummary:
    """A date's all-districts summary: every district the dashboard published that date."""

    statistics: tuple[DistrictStatistics, ...]
    source: str  # "archive" (the raw summary CSV) or "snapshot" (a system-wide snapshot)


def _summary_as_ofs(logical_date: date) -> tuple[date, ...]:
    """The as-ofs a date's summary may be archived under: the stored data's, then the one the
    date's request names today (the closing-dates registry may have learnt a month since)."""
    try:
        manifest = store.read_manifest(logical_date=logical_date) or {}
    except store.SnapshotStoreError:
        manifest = {}
    stored = date.fromisoformat(manifest["asOfDate"]) if manifest.get("asOfDate") else None
    requested = request_for(ReportType.DISTRICT_SUMMARY, logical_date).as_of
    return tuple(dict.fromkeys(d for d in (stored, requested) if d is not None))


def summary_archived(logical_date: date) -> bool:
    """Whether the raw archive holds the date's all-districts summary (one listing per as-of)."""
    return any(
        ALL_DISTRICTS in store.archived_districts(as_of=as_of, report=ReportType.DISTRICT_SUMMARY)
        for as_of in _summary_as_ofs(logical_date)
    )


def _every_district_snapshot(logical_date: date) -> bool:
    """A completed system-wide snapshot over every district: its district files are the date's
    summary, district for district."""
    manifest = store.read_manifest(logical_date=logical_date) or {}
    return (
        manifest.get("collectionStrategy") == "system-wide"
        and not manifest.get("scope")
        and manifest.get("status") == SnapshotStatus.COMPLETED
    )


def missing_summary_reason(logical_date: date) -> str:
    """Why a date gets no rankings document ("" when its summary is stored)."""
    try:
        if summary_archived(logical_date) or _every_district_snapshot(logical_date):
            return ""
    except (store.SnapshotStoreError, DashboardError) as exc:
        return f"the all-districts summary of {logical_date} is not readable: {exc}"
    return (
        f"no all-districts summary of {logical_date} is stored: rankings rank every district "
        "from the date's summary, never a subset (a per-district collection stores it unless "
        "collectSummary is false; collect the date system-wide to rank it)"
    )


def read_date_summary(logical_date: date) -> DateSummary | None:
    """The date's all-districts summary (DOMAIN.md section 8), or None when none is stored.

    Read from the raw archive and normalized again with today's rules (so a fix to the
    normalizer reaches the rankings without re-collecting), accepted against the request it was
    downloaded with; else the district files of a completed system-wide snapshot over every
    district. Raises DashboardError when the archived summary is no longer acceptable.
    """
    for as_of in _summary_as_ofs(logical_date):
        data = store.read_raw_csv(as_of=as_of, report=ReportType.DISTRICT_SUMMARY, district_id=None)
        if data is None:
            continue
        request = request_for(ReportType.DISTRICT_SUMMARY, logical_date)
        if as_of != request.as_of:
            replay = request_for_as_of(ReportType.DISTRICT_SUMMARY, as_of)
            if replay.logical_date == logical_date:
                request = replay
        parsed = accept(data, request)
        by_district = normalize_summary(summary=parsed, logical_date=logical_date)
        return DateSummary(tuple(by_district.values()), "archive")
    if _every_district_snapshot(logical_date):
        files = (_read(logical_date, d) for d in store.list_districts(logical_date=logical_date))
        return DateSummary(tuple(s for s in files if s is not None), "snapshot")
    return None


def generate_rankings(*, logical_date: date, job_id: Any = None) -> Generated:
    """Rank every district of `logical_date`'s all-districts summary (`read_date_summary`),
    whatever the snapshot's scope, write the rankings document
    (`analytics/rankings/<date>.json`) and upsert its `AnalyticsOutput` row.

    The snapshot's status is reported (`snapshotStatus`, the row's partial dates). Raises
    NothingToRead when the date has no stored summary (never a ranking of a subset) or it has
    no district, SnapshotStoreError when the document cannot be written.
    """
    try:
        summary = read_date_summary(logical_date)
    except DashboardError as exc:
        raise NothingToRead(
            f"the archived all-districts summary of {logical_date} is not acceptable: {exc}"
        ) from exc
    if summary is None:
        raise NothingToRead(missing_summary_reason(logical_date))
    statistics = list(summary.statistics)
    if not statistics:
        raise NothingToRead(f"the all-districts summary of {logical_date} has no district")
    status = snapshot_statuses([logical_date])[logical_date]
    document = rankings_document(
        logical_date=logical_date, statistics=statistics, snapshot_status=status
    )
    output = _write(
        name=rankings_name(logical_date),
        document=document,
        kind=AnalyticsKind.RANKINGS,
        district_id="",
        program_year=document["programYear"],
        logical_date=logical_date,
        snapshot_count=len(statistics),
        missing=[],
        partial=[] if status == SnapshotStatus.COMPLETED else [logical_date],
        job_id=job_id,
    )
    return Generated(output=output, document=document)


def _write(
    *,
    name: str,
    document: dict[str, Any],
    kind: str,
    district_id: str,
    program_year: str,
    logical_date: date | None,
    snapshot_count: int,
    missing: Sequence[date],
    partial: Sequence[date],
    job_id: Any,
) -> AnalyticsOutput:
    stored = store.write_document(name=name, payload=document)
    output, _ = AnalyticsOutput.objects.update_or_create(
        name=stored.name,
        defaults={
            "kind": kind,
            "district_id": district_id,
            "program_year": program_year,
            "logical_date": logical_date,
            "size_bytes": stored.size,
            "sha256": stored.sha256,
            "snapshot_count": snapshot_count,
            "missing_dates": [d.isoformat() for d in sorted(missing)],
            "partial_dates": [d.isoformat() for d in sorted(partial)],
            "job_id": job_id,
            "generated_at": timezone.now(),
        },
    )
    return output
