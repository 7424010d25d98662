"""What a plan is: the scope and strategy of a job and its units (`Plan`, `PlannedUnit`), the
units listed lazily in dispatch order so 50,000 stay cheap; and what an analytics-generation
plan reads (`SnapshotReads`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from districts.ids import ALL_DISTRICTS

from ...models import CollectionStrategy, UnitStatus
from . import stored as stored_data
from .request import REPROCESS_ALL, REPROCESS_FAILED, BackfillRequest


@dataclass(frozen=True)
class PlannedUnit:
    logical_date: date
    district_id: str  # ALL_DISTRICTS for a summary unit covering every district of the scope
    status: str  # pending, skipped, unavailable or waiting
    reason: str = ""


@dataclass(frozen=True)
class SnapshotReads:
    """What an analytics-generation job reads: snapshot dates and distinct district files (a
    time series reads its whole program year, possibly beyond the range), and the dates of the
    job's range that have no stored snapshot (`missing`) or whose snapshot is not completed
    (`partial`: partial_success, failed, or no manifest yet)."""

    snapshot_dates: int
    district_files: int
    program_years: tuple[str, ...]
    missing_dates: tuple[date, ...]
    partial_dates: tuple[date, ...]


@dataclass(frozen=True)
class Plan:
    request: BackfillRequest
    collection_strategy: str
    rationale: str
    estimated_efficiency: float  # districts covered per request
    scope: dict[str, Any]
    # (ALL_DISTRICTS,): every district (system-wide with no configured scope)
    districts: tuple[str, ...]
    dates: tuple[date, ...]
    warnings: tuple[str, ...] = field(default=())
    # Dates that no unit collects, decided once when planning (the registry may read the
    # database, which must not happen while units stream into a COPY): date -> (status, reason).
    blocked: dict[date, tuple[str, str]] = field(default_factory=dict)
    # An analytics-generation plan lists its units (a few thousand at most) and what they read.
    planned: tuple[PlannedUnit, ...] | None = None
    reads: SnapshotReads | None = None

    @property
    def start_date(self) -> date:
        return self.request.start_date or self.dates[0]

    @property
    def end_date(self) -> date:
        return self.request.end_date or self.dates[-1]

    @property
    def unit_count(self) -> int:
        if self.planned is not None:
            return len(self.planned)
        per_date = (
            len(self.districts)
            if self.collection_strategy == CollectionStrategy.PER_DISTRICT
            else 1
        )
        return per_date * len(self.dates)

    def units(self) -> Iterator[PlannedUnit]:
        """Every unit in dispatch order (date, then district), lazily: 50,000 stay cheap."""
        if self.planned is not None:
            yield from self.planned
            return
        reprocess = self.request.reprocess
        per_district = self.collection_strategy == CollectionStrategy.PER_DISTRICT
        for day in self.dates:
            blocked = self.blocked.get(day)
            unblocked = blocked is None
            stored = (
                stored_data.stored_detail_levels(day)
                if unblocked and reprocess != REPROCESS_ALL
                else {}
            )
            keep = (
                stored_data.not_failed_reason(day)
                if unblocked and reprocess == REPROCESS_FAILED
                else ""
            )
            archive = (
                stored_data.archive(day, per_district=per_district)
                if unblocked and self.request.from_archive
                else None
            )
            if per_district:
                for district_id in self.districts:
                    yield _planned(
                        day,
                        district_id,
                        blocked or stored_data.unarchived(archive, district_id),
                        stored,
                        needed=(district_id,),
                        keep=keep,
                    )
            else:
                yield _planned(
                    day,
                    ALL_DISTRICTS,
                    blocked or stored_data.unarchived(archive, ALL_DISTRICTS),
                    stored,
                    needed=self.districts,
                    detail="summary",
                    keep=keep,
                )


def _planned(
    day: date,
    district_id: str,
    blocked: tuple[str, str] | None,
    stored: dict[str, str],
    *,
    needed: tuple[str, ...],
    detail: str = "full",
    keep: str = "",
) -> PlannedUnit:
    if blocked is not None:
        return PlannedUnit(day, district_id, *blocked)
    if keep:
        return PlannedUnit(day, district_id, UnitStatus.SKIPPED, keep)
    if stored and stored_data.covers(stored, needed, detail):
        return PlannedUnit(day, district_id, UnitStatus.SKIPPED, "already stored")
    return PlannedUnit(day, district_id, UnitStatus.PENDING)
