"""Planning a backfill: resolve the scope, pick the strategy, list units.

Takes a `BackfillRequest` that `backfill.contracts` has validated (the one input contract of every
entry point). Used by `create_job` (which persists the plan) and by `preview` (which only reports
it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from districts import services as district_services
from districts.dashboard.closing import closing_period_month
from districts.ids import ALL_DISTRICTS
from snapshots import store
from snapshots.models import SnapshotStatus

from ..models import CollectionStrategy, JobType, RateLimitConfig, UnitStatus

COLLECTION_TYPES = ("auto", "system-wide", "per-district")
# Which stored dates a job collects again: `missing` (what is not stored yet), `failed` (only
# dates whose stored snapshot is partial_success or failed) or `all` (everything).
REPROCESS_MISSING = "missing"
REPROCESS_FAILED = "failed"
REPROCESS_ALL = "all"
REPROCESS_CHOICES = (REPROCESS_MISSING, REPROCESS_FAILED, REPROCESS_ALL)
PER_DISTRICT_AUTO_LIMIT = 10  # `auto` picks per-district detail for up to this many targets
MAX_CONCURRENCY = 10
MAX_RATE_LIMIT_DELAY_MS = 60_000
REQUESTS_PER_UNIT = {
    CollectionStrategy.SYSTEM_WIDE: 1,
    CollectionStrategy.TARGETED: 1,
    CollectionStrategy.PER_DISTRICT: 3,
}
# Districts the dashboard publishes per summary, for the efficiency estimate when no scope is
# configured (DOMAIN.md section 6: ~128 in 2025-26, 94 from 2026-27).
TYPICAL_DISTRICT_COUNT = 120


@dataclass(frozen=True)
class BackfillRequest:
    """A validated request (the seeds' BackfillRequest), with defaults applied."""

    start_date: date
    end_date: date
    target_districts: tuple[str, ...] = ()
    collection_type: str = "auto"
    job_type: str = JobType.DATA_COLLECTION
    concurrency: int = 3
    retry_failures: bool = True
    reprocess: str = REPROCESS_MISSING
    rate_limit_delay_ms: int | None = None
    enable_caching: bool = True

    @property
    def skip_existing(self) -> bool:
        """The seeds' `skipExisting`: stored data is skipped unless everything is reprocessed."""
        return self.reprocess != REPROCESS_ALL

    def as_json(self) -> dict[str, Any]:
        return {
            "jobType": self.job_type,
            "startDate": self.start_date.isoformat(),
            "endDate": self.end_date.isoformat(),
            "targetDistricts": list(self.target_districts),
            "collectionType": self.collection_type,
            "concurrency": self.concurrency,
            "retryFailures": self.retry_failures,
            "skipExisting": self.skip_existing,
            "reprocess": self.reprocess,
            "rateLimitDelayMs": self.rate_limit_delay_ms,
            "enableCaching": self.enable_caching,
        }


@dataclass(frozen=True)
class PlannedUnit:
    logical_date: date
    district_id: str  # ALL_DISTRICTS for a summary unit covering every district of the scope
    status: str  # pending, skipped or unavailable
    reason: str = ""


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

    @property
    def unit_count(self) -> int:
        per_date = (
            len(self.districts)
            if self.collection_strategy == CollectionStrategy.PER_DISTRICT
            else 1
        )
        return per_date * len(self.dates)

    def units(self) -> Iterator[PlannedUnit]:
        """Every unit in dispatch order (date, then district), lazily: 50,000 stay cheap."""
        reprocess = self.request.reprocess
        for day in self.dates:
            closing_of = closing_period_month(day)
            stored = _stored_detail_levels(day) if reprocess != REPROCESS_ALL else {}
            keep = _not_failed_reason(day) if reprocess == REPROCESS_FAILED else ""
            if self.collection_strategy == CollectionStrategy.PER_DISTRICT:
                for district_id in self.districts:
                    yield _planned(
                        day, district_id, closing_of, stored, needed=(district_id,), keep=keep
                    )
            else:
                yield _planned(
                    day,
                    ALL_DISTRICTS,
                    closing_of,
                    stored,
                    needed=self.districts,
                    detail="summary",
                    keep=keep,
                )


def _planned(
    day: date,
    district_id: str,
    closing_of: date | None,
    stored: dict[str, str],
    *,
    needed: tuple[str, ...],
    detail: str = "full",
    keep: str = "",
) -> PlannedUnit:
    if closing_of is not None:
        return PlannedUnit(
            day,
            district_id,
            UnitStatus.UNAVAILABLE,
            f"{day} lies in the closing period of {closing_of:%Y-%m}: the dashboard serves no "
            "data for it",
        )
    if keep:
        return PlannedUnit(day, district_id, UnitStatus.SKIPPED, keep)
    if stored and _covers(stored, needed, detail):
        return PlannedUnit(day, district_id, UnitStatus.SKIPPED, "already stored")
    return PlannedUnit(day, district_id, UnitStatus.PENDING)


def _covers(stored: dict[str, str], needed: tuple[str, ...], detail: str) -> bool:
    if needed == (ALL_DISTRICTS,):
        # A system-wide snapshot counts as stored when its manifest says it succeeded.
        return stored.get(ALL_DISTRICTS) == SnapshotStatus.COMPLETED
    rank = {"summary": 0, "full": 1}
    return all(rank.get(stored.get(d, ""), -1) >= rank[detail] for d in needed)


def _not_failed_reason(day: date) -> str:
    """Why `reprocess=failed` leaves the date alone ("" when its snapshot is partial or failed)."""
    manifest = store.read_manifest(logical_date=day)
    if manifest is None:
        return "nothing stored: reprocess=failed redoes only partial or failed snapshots"
    status = manifest.get("status", "")
    if status in (SnapshotStatus.PARTIAL_SUCCESS, SnapshotStatus.FAILED):
        return ""
    return f"stored snapshot is {status}: reprocess=failed redoes only partial or failed ones"


def _stored_detail_levels(day: date) -> dict[str, str]:
    """district id -> stored detail level for one date (ALL_DISTRICTS -> the manifest's status
    when it covers every district); {} if none."""
    manifest = store.read_manifest(logical_date=day)
    if manifest is None:
        return {}
    # Only a system-wide collection over every district stands for "every district stored".
    every_district = manifest.get(
        "collectionStrategy"
    ) == CollectionStrategy.SYSTEM_WIDE and not manifest.get("scope")
    status = manifest.get("status", "") if every_district else ""
    return {**manifest.get("detailLevels", {}), ALL_DISTRICTS: status}


def plan(request: BackfillRequest) -> Plan:
    """Resolve scope and strategy for a validated request. Raises ValidationError."""
    resolution = district_services.resolve_scope(targets=request.target_districts)
    warnings = []
    if resolution.excluded:
        warnings.append(f"Out of the configured scope, excluded: {', '.join(resolution.excluded)}.")
    if request.target_districts and not resolution.targets:
        raise ValidationError({"targetDistricts": ["No valid districts to process."]})

    everything = not request.target_districts or resolution.all_configured
    districts = resolution.targets or resolution.configured or (ALL_DISTRICTS,)
    count = len(districts) if districts != (ALL_DISTRICTS,) else TYPICAL_DISTRICT_COUNT
    match request.collection_type:
        case "system-wide":
            strategy = CollectionStrategy.SYSTEM_WIDE if everything else CollectionStrategy.TARGETED
            rationale = "system-wide requested: one summary request per date" + (
                "" if everything else f", filtered to {count} targeted districts"
            )
        case "per-district":
            if districts == (ALL_DISTRICTS,):
                raise ValidationError(
                    {
                        "collectionType": [
                            "per-district needs targetDistricts or a configured district scope."
                        ]
                    }
                )
            strategy = CollectionStrategy.PER_DISTRICT
            rationale = f"per-district requested: full detail for {count} districts"
        case _:
            if everything:
                strategy = CollectionStrategy.SYSTEM_WIDE
                rationale = "no targets (or every configured district): one summary per date"
            elif count <= PER_DISTRICT_AUTO_LIMIT:
                strategy = CollectionStrategy.PER_DISTRICT
                rationale = (
                    f"{count} targeted districts (<= {PER_DISTRICT_AUTO_LIMIT}): full detail "
                    "with three requests per district and date"
                )
            else:
                strategy = CollectionStrategy.TARGETED
                rationale = (
                    f"{count} targeted districts (> {PER_DISTRICT_AUTO_LIMIT}): one summary "
                    "request per date, filtered to the targets"
                )
    # Districts covered per request: a summary covers all of them, per-district needs three.
    covered = 1 if strategy == CollectionStrategy.PER_DISTRICT else count
    efficiency = covered / REQUESTS_PER_UNIT[strategy]
    days = (request.end_date - request.start_date).days + 1
    per_date = len(districts) if strategy == CollectionStrategy.PER_DISTRICT else 1
    if per_date * days > settings.BACKFILL_MAX_JOB_UNITS:
        raise ValidationError(
            {
                "endDate": [
                    f"{per_date * days} units ({days} days x {per_date} per date) is more than "
                    f"{settings.BACKFILL_MAX_JOB_UNITS} (BACKFILL_MAX_JOB_UNITS); split the job."
                ]
            }
        )
    scope = {
        "targetDistricts": list(resolution.targets),
        "configuredDistricts": list(resolution.configured),
        "excludedDistricts": list(resolution.excluded),
        "scopeType": _scope_type(everything=everything, targets=resolution.targets),
        "validationPassed": True,
    }
    return Plan(
        request=request,
        collection_strategy=strategy,
        rationale=rationale,
        estimated_efficiency=round(efficiency, 3),
        scope=scope,
        districts=tuple(districts),
        dates=tuple(request.start_date + timedelta(days=i) for i in range(days)),
        warnings=tuple(warnings),
    )


def _scope_type(*, everything: bool, targets: tuple[str, ...]) -> str:
    """The seeds' BackfillScope.scopeType: which districts, whatever the collection strategy."""
    if everything:
        return "system-wide"
    return "single-district" if len(targets) == 1 else "targeted"


@dataclass(frozen=True)
class DatePlan:
    """What a job does for one date: `fetch` (some unit will run), `skip` (all stored) or
    `unavailable` (closing period), with the reason and the date's unit counts."""

    logical_date: date
    plan: str
    reason: str
    units: int
    pending_units: int


@dataclass(frozen=True)
class Preview:
    collection_strategy: str
    rationale: str
    estimated_efficiency: float
    scope: dict[str, Any]
    total_units: int
    pending_units: int
    skipped_units: int
    unavailable_units: int
    requests: int
    estimated_duration_seconds: float
    warnings: tuple[str, ...]
    dates: tuple[DatePlan, ...] = ()


def preview(plan_: Plan) -> Preview:
    """What a job would do, without writing anything."""
    counts = {UnitStatus.PENDING: 0, UnitStatus.SKIPPED: 0, UnitStatus.UNAVAILABLE: 0}
    by_date: dict[date, list[PlannedUnit]] = {}
    for unit in plan_.units():
        counts[unit.status] += 1
        by_date.setdefault(unit.logical_date, []).append(unit)
    requests = counts[UnitStatus.PENDING] * REQUESTS_PER_UNIT[plan_.collection_strategy]
    return Preview(
        collection_strategy=plan_.collection_strategy,
        rationale=plan_.rationale,
        estimated_efficiency=plan_.estimated_efficiency,
        scope=plan_.scope,
        total_units=sum(counts.values()),
        pending_units=counts[UnitStatus.PENDING],
        skipped_units=counts[UnitStatus.SKIPPED],
        unavailable_units=counts[UnitStatus.UNAVAILABLE],
        requests=requests,
        estimated_duration_seconds=estimated_duration(requests=requests, request=plan_.request),
        warnings=plan_.warnings,
        dates=tuple(_date_plan(day, units) for day, units in by_date.items()),
    )


def _date_plan(day: date, units: list[PlannedUnit]) -> DatePlan:
    pending = sum(1 for u in units if u.status == UnitStatus.PENDING)
    if pending:
        plan_word = "fetch"
        reason = (
            "will fetch"
            if pending == len(units)
            else (f"will fetch {pending} of {len(units)} units; the others are already stored")
        )
    elif all(u.status == UnitStatus.UNAVAILABLE for u in units):
        plan_word, reason = "unavailable", units[0].reason
    else:
        plan_word = "skip"
        reason = next((u.reason for u in units if u.status == UnitStatus.SKIPPED), "")
    return DatePlan(
        logical_date=day, plan=plan_word, reason=reason, units=len(units), pending_units=pending
    )


def estimated_duration(*, requests: int, request: BackfillRequest) -> float:
    """Seconds for `requests` under the current global limit (and the job's own delay)."""
    config = RateLimitConfig.load()
    if requests == 0:
        return 0.0
    per_window = max(config.max_requests, 1)
    by_window = math.ceil(requests / per_window) * config.window_ms / 1000
    min_delay = max(config.min_delay_ms, request.rate_limit_delay_ms or 0)
    by_delay = requests * min_delay / 1000
    return float(max(by_window, by_delay))
