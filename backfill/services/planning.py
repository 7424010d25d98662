"""Planning a backfill: resolve the scope, pick the strategy, list units.

Takes a `BackfillRequest` that `backfill.contracts` has validated (the one input contract of every
entry point). Used by `create_job` (which persists the plan) and by `preview` (which only reports
it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics import documents
from analytics import services as analytics
from districts import services as district_services
from districts.closing_discovery import MAX_REQUESTS as MAX_DISCOVERY_REQUESTS
from districts.closing_discovery import waiting_reason
from districts.dashboard.closing import (
    closing_date_for,
    closing_period_month,
    still_closing_on,
    typical_closing_days,
)
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import EARLIEST_DATE, month_end, program_year_of, request_for
from districts.ids import ALL_DISTRICTS, district_sort_key
from snapshots import store
from snapshots.models import SnapshotStatus

from ..models import CollectionStrategy, JobType, RateLimitConfig, Source, UnitStatus

COLLECTION_TYPES = ("auto", "system-wide", "per-district")
# Which stored dates a job collects again: `missing` (what is not stored yet), `failed` (only
# dates whose stored snapshot is partial_success or failed) or `all` (everything).
REPROCESS_MISSING = "missing"
REPROCESS_FAILED = "failed"
REPROCESS_ALL = "all"
REPROCESS_CHOICES = (REPROCESS_MISSING, REPROCESS_FAILED, REPROCESS_ALL)
# The priorities a request may ask for (`JobPriority` labels); `daily` is the scheduled refresh's
# own (beat's gap fill), so that "daily" always means the refresh of current data.
REQUEST_PRIORITIES = ("low", "normal", "urgent")
PER_DISTRICT_AUTO_LIMIT = 10  # `auto` picks per-district detail for up to this many targets
MAX_CONCURRENCY = 10  # units in flight of one job that downloads from the dashboard
MAX_STORE_CONCURRENCY = 32  # ... of one job that only reads and writes the store
MAX_RATE_LIMIT_DELAY_MS = 60_000
REQUESTS_PER_UNIT = {
    CollectionStrategy.SYSTEM_WIDE: 1,
    CollectionStrategy.TARGETED: 1,
    CollectionStrategy.PER_DISTRICT: 3,
    CollectionStrategy.ANALYTICS: 0,
}
# Districts the dashboard publishes per summary, for the efficiency estimate when no scope is
# configured (DOMAIN.md section 6: ~128 in 2025-26, 94 from 2026-27).
TYPICAL_DISTRICT_COUNT = 120
# A month end whose closing date is unknown waits while its month ended at most this many days
# ago: closing periods end by about day 29 of the next month (DOMAIN.md section 1). Older
# unknown months are probed when their unit runs (collection.py).
RECENT_MONTH_END_DAYS = 31


@dataclass(frozen=True)
class BackfillRequest:
    """A validated request (the seeds' BackfillRequest), with defaults applied."""

    # None only for analytics-generation: from the first / to the last stored snapshot.
    start_date: date | None
    end_date: date | None
    target_districts: tuple[str, ...] = ()
    collection_type: str = "auto"
    job_type: str = JobType.DATA_COLLECTION
    concurrency: int = 3
    retry_failures: bool = True
    reprocess: str = REPROCESS_MISSING
    rate_limit_delay_ms: int | None = None
    enable_caching: bool = True
    # Source.ARCHIVE: re-normalize the archived CSVs, no request (data-collection only).
    source: str = Source.DASHBOARD
    # A `JobPriority` label: dispatch serves higher priorities first.
    priority: str = "normal"

    @property
    def from_archive(self) -> bool:
        return self.source == Source.ARCHIVE

    # Data collection: queue an analytics-generation job over what the job stored when it ends
    # (and BACKFILL_FOLLOW_UP_ANALYTICS is on).
    update_analytics: bool = True
    # Per-district collection: also collect each date's all-districts summary (the rankings').
    collect_summary: bool = True

    @property
    def skip_existing(self) -> bool:
        """The seeds' `skipExisting`: stored data is skipped unless everything is reprocessed."""
        return self.reprocess != REPROCESS_ALL

    def as_json(self) -> dict[str, Any]:
        return {
            "jobType": self.job_type,
            "startDate": self.start_date.isoformat() if self.start_date else None,
            "endDate": self.end_date.isoformat() if self.end_date else None,
            "targetDistricts": list(self.target_districts),
            "collectionType": self.collection_type,
            "concurrency": self.concurrency,
            "retryFailures": self.retry_failures,
            "skipExisting": self.skip_existing,
            "reprocess": self.reprocess,
            "rateLimitDelayMs": self.rate_limit_delay_ms,
            "enableCaching": self.enable_caching,
            "source": self.source,
            "updateAnalytics": self.update_analytics,
            "collectSummary": self.collect_summary,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class PlannedUnit:
    logical_date: date
    district_id: str  # ALL_DISTRICTS for a summary unit covering every district of the scope
    status: str  # pending, skipped, unavailable or waiting
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
            stored = _stored_detail_levels(day) if unblocked and reprocess != REPROCESS_ALL else {}
            keep = _not_failed_reason(day) if unblocked and reprocess == REPROCESS_FAILED else ""
            archive = (
                _archive(day, per_district=per_district)
                if unblocked and self.request.from_archive
                else None
            )
            if per_district:
                for district_id in self.districts:
                    yield _planned(
                        day,
                        district_id,
                        blocked or _unarchived(archive, district_id),
                        stored,
                        needed=(district_id,),
                        keep=keep,
                    )
            else:
                yield _planned(
                    day,
                    ALL_DISTRICTS,
                    blocked or _unarchived(archive, ALL_DISTRICTS),
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
    if stored and _covers(stored, needed, detail):
        return PlannedUnit(day, district_id, UnitStatus.SKIPPED, "already stored")
    return PlannedUnit(day, district_id, UnitStatus.PENDING)


@dataclass(frozen=True)
class _ArchivedDate:
    """What the raw archive holds for one date: who has the CSV a re-normalization reads first
    (the club performance of each district, or the district summary) under the as-ofs the
    date's data may have been collected at."""

    report: str
    as_ofs: tuple[date, ...]
    present: frozenset[str]


def _archive(day: date, *, per_district: bool) -> _ArchivedDate:
    report = ReportType.CLUB_PERFORMANCE if per_district else ReportType.DISTRICT_SUMMARY
    manifest = store.read_manifest(logical_date=day) or {}
    stored = date.fromisoformat(manifest["asOfDate"]) if manifest.get("asOfDate") else None
    # Every report of a date is requested as of the same day.
    requested = request_for(ReportType.DISTRICT_SUMMARY, day).as_of
    as_ofs = tuple(dict.fromkeys(d for d in (stored, requested) if d))
    present: set[str] = set()
    for as_of in as_ofs:
        present |= store.archived_districts(as_of=as_of, report=report)
    return _ArchivedDate(str(report), as_ofs, frozenset(present))


def _unarchived(archive: _ArchivedDate | None, district_id: str) -> tuple[str, str] | None:
    """(unavailable, why) when the archive has no CSV for `district_id` on the date."""
    if archive is None or district_id in archive.present:
        return None
    who = "every district" if district_id == ALL_DISTRICTS else f"district {district_id}"
    return (
        UnitStatus.UNAVAILABLE,
        f"no archived CSV of {archive.report} for {who} as of "
        f"{' or '.join(map(str, archive.as_ofs))}: nothing to re-normalize",
    )


def blocked_dates(dates: tuple[date, ...], *, today: date) -> dict[date, tuple[str, str]]:
    """Dates no unit can collect yet, with the unit status and reason to record for them.

    A day before the data starts (2008-07-01) or inside a closing period (the site serves the
    previous month then) is `unavailable`. A month end whose month is not known to have closed
    is `waiting` while the month ended recently (see `month_end_waiting_reason`).
    """
    blocked: dict[date, tuple[str, str]] = {}
    for day in dates:
        if day < EARLIEST_DATE:
            blocked[day] = (
                UnitStatus.UNAVAILABLE,
                f"before the data starts: the dashboard serves from {EARLIEST_DATE}",
            )
            continue
        closing_of = closing_period_month(day)
        if closing_of is not None:
            blocked[day] = (
                UnitStatus.UNAVAILABLE,
                f"{day} lies in the closing period of {closing_of:%Y-%m}: the dashboard serves "
                "no data for it",
            )
            continue
        reason = month_end_waiting_reason(day, today=today)
        if reason:
            blocked[day] = (UnitStatus.WAITING, reason)
    return blocked


def unknown_closing_month(day: date, *, today: date) -> date | None:
    """The month (its first day) whose closing period `day` may lie in while nobody knows that
    month's closing date, or None.

    That is the month before `day`'s, when its closing date is neither known nor seen past
    `day`, `day` is not a month end (a logical date of its own month) nor later than yesterday,
    and it falls no later than the latest closing day of that calendar month on record
    (`closing.typical_closing_days`). A unit of such a day finds the closing date first
    (`collection.py`), instead of a request that would find the month still being served.
    """
    if day == month_end(day) or day >= today or closing_period_month(day) is not None:
        return None
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    if previous < EARLIEST_DATE or closing_date_for(previous) is not None:
        return None
    return previous if day.day <= typical_closing_days(previous)[1] else None


def estimated_closing_days(dates: tuple[date, ...], *, today: date) -> dict[date, tuple[date, str]]:
    """Days whose month's closing date is not known yet but which most likely lie in its
    closing period: day -> (that month, why), for the preview.

    A day counts when `unknown_closing_month` names a month and the day falls on or before the
    median closing day of that calendar month on record. Its units still run: they find the
    closing date first and end `unavailable` without a request, or collect when the month had
    closed by then.
    """
    estimated: dict[date, tuple[date, str]] = {}
    for day in dates:
        month = unknown_closing_month(day, today=today)
        if month is None:
            continue
        median = typical_closing_days(month)[0]
        if day.day <= median:
            estimated[day] = (
                month,
                f"{day} most likely lies in the closing period of {month:%Y-%m} (estimated: "
                f"such months close about day {median} of the next month; its closing date is "
                "found before any request for the day)",
            )
    return estimated


def recent_month_ends(*, today: date) -> list[date]:
    """Month ends before `today` within the last 2 x RECENT_MONTH_END_DAYS days, oldest first:
    the months whose closing the daily gap fill watches."""
    ends: list[date] = []
    day = today.replace(day=1) - timedelta(days=1)
    while (today - day).days <= 2 * RECENT_MONTH_END_DAYS:
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return sorted(ends)


def month_end_waiting_reason(day: date, *, today: date) -> str:
    """Why the month end `day` must wait for its month's closing period to end, or "".

    It waits when its month's closing date is unknown and either a probe saw the month still
    served yesterday or the month ended at most RECENT_MONTH_END_DAYS ago. Collecting it now
    would store a day of the closing period as the month's final state.
    """
    if day != month_end(day) or closing_date_for(day) is not None:
        return ""
    seen = still_closing_on(day)
    if (seen is None or seen < today - timedelta(days=1)) and (
        (today - day).days > RECENT_MONTH_END_DAYS
    ):
        return ""
    return waiting_reason(day.replace(day=1))


def _covers(stored: dict[str, str], needed: tuple[str, ...], detail: str) -> bool:
    if needed == (ALL_DISTRICTS,):
        # A system-wide snapshot counts as stored when its manifest says it succeeded.
        return stored.get(ALL_DISTRICTS) == SnapshotStatus.COMPLETED
    rank = {"summary": 0, "full": 1}
    return all(rank.get(stored.get(d, ""), -1) >= rank[detail] for d in needed)


def stored_covers(day: date, *, needed: tuple[str, ...], detail: str) -> bool:
    """Whether the store holds `day` for every district of `needed` at `detail` or better, as
    planning would find it now (`_covers`). Reads the district files themselves, not the
    manifest, which is assembled only after a job's last unit of the date: a unit starting right
    after another job stored its district sees it. `needed` == (ALL_DISTRICTS,) (every district)
    is decided by the manifest, like planning does. Raises SnapshotStoreError for an unreadable
    file."""
    if needed == (ALL_DISTRICTS,):
        return _covers(_stored_detail_levels(day), needed, detail)
    return all(
        store.exists(logical_date=day, district_id=district_id, detail=detail)
        for district_id in needed
    )


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


def plan(request: BackfillRequest) -> Plan:
    """Resolve scope and strategy for a validated request. Raises ValidationError."""
    if request.job_type == JobType.ANALYTICS_GENERATION:
        return plan_analytics(request)
    return _plan_collection(request)


def _resolve_scope(
    request: BackfillRequest,
) -> tuple[list[str], district_services.ScopeResolution]:
    """Check the targets and split them by the configured scope: (warnings, resolution).
    Raises ValidationError (targetDistricts) for unknown ids or no valid target left."""
    warnings: list[str] = []
    known = district_services.check_known_districts(district_ids=request.target_districts)
    if known.unknown:
        raise ValidationError(
            {
                "targetDistricts": [
                    f"Unknown district(s) {', '.join(known.unknown)}: no collected summary has "
                    "listed them and they are not in the configured scope."
                ]
            }
        )
    if request.target_districts and known.nothing_known:
        warnings.append(
            "District ids not checked: no summary has been collected yet, so the districts "
            "the dashboard publishes are not known."
        )
    resolution = district_services.resolve_scope(targets=request.target_districts)
    if resolution.excluded:
        warnings.append(f"Out of the configured scope, excluded: {', '.join(resolution.excluded)}.")
    if request.target_districts and not resolution.targets:
        raise ValidationError({"targetDistricts": ["No valid districts to process."]})
    return warnings, resolution


def _scope_json(
    request: BackfillRequest, resolution: district_services.ScopeResolution
) -> dict[str, Any]:
    everything = not request.target_districts or resolution.all_configured
    return {
        "targetDistricts": list(resolution.targets),
        "configuredDistricts": list(resolution.configured),
        "excludedDistricts": list(resolution.excluded),
        "scopeType": _scope_type(everything=everything, targets=resolution.targets),
        "validationPassed": True,
    }


def _plan_collection(request: BackfillRequest) -> Plan:
    warnings, resolution = _resolve_scope(request)
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
    if not request.collect_summary and strategy != CollectionStrategy.PER_DISTRICT:
        raise ValidationError(
            {
                "collectSummary": [
                    f"Only for a per-district collection: a {strategy} collection is the "
                    "all-districts summary."
                ]
            }
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
    scope = _scope_json(request, resolution)
    dates = tuple(request.start_date + timedelta(days=i) for i in range(days))
    return Plan(
        request=request,
        collection_strategy=strategy,
        rationale=rationale,
        estimated_efficiency=round(efficiency, 3),
        scope=scope,
        districts=tuple(districts),
        dates=dates,
        warnings=tuple(warnings),
        blocked=blocked_dates(dates, today=timezone.localdate()),
    )


def _scope_type(*, everything: bool, targets: tuple[str, ...]) -> str:
    """The seeds' BackfillScope.scopeType: which districts, whatever the collection strategy."""
    if everything:
        return "system-wide"
    return "single-district" if len(targets) == 1 else "targeted"


# --- analytics generation ---------------------------------------------------------------------

# Rough cost of one distinct district file read by an analytics-generation job (read by its
# time series and by its date's rankings; bench `analytics`: 43,800 files in 139 s with one
# worker process), for the preview's estimated duration.
ANALYTICS_SECONDS_PER_FILE = 0.003


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


def plan_analytics(request: BackfillRequest) -> Plan:
    """Plan an analytics-generation job over the stored snapshots of the request's range
    (omitted dates: from the first / to the last stored snapshot).

    Units: one per (district, program year) for the district's time series, whose logical date
    is the first stored date of the range in that program year (the program year is that
    date's), and one per stored date with district ALL_DISTRICTS for its rankings, which rank
    every district of the date's all-districts summary whatever the scope (`unavailable`, with
    the reason, when no summary of the date is stored). The time-series districts are the
    targets, else the configured scope, else every district stored on a date of the range. A
    unit with nothing to read is planned `unavailable` with the reason.

    Raises ValidationError: `startDate` when no snapshot is stored in the range, the scope's
    errors (`targetDistricts`), `endDate` beyond BACKFILL_MAX_JOB_UNITS.
    """
    stored = store.stored_dates()
    first = request.start_date or (stored[0] if stored else None)
    last = request.end_date or (stored[-1] if stored else None)
    in_range = tuple(d for d in stored if first is not None and first <= d <= last)
    if not in_range:
        where = (
            f"between {first} and {last}"
            if request.start_date or request.end_date
            else "in the snapshot store"
        )
        message = f"No stored snapshot {where}: there is nothing to generate analytics from."
        raise ValidationError({"startDate": [message], "endDate": [message]})
    warnings, resolution = _resolve_scope(request)
    listing = {day: store.list_districts(logical_date=day) for day in in_range}
    districts = resolution.targets or resolution.configured
    if not districts:
        found = {d for ids in listing.values() for d in ids}
        districts = tuple(sorted(found, key=district_sort_key))
    years = sorted({program_year_of(day) for day in in_range})
    # Every stored date of those program years: a time series covers its whole year.
    year_files: dict[str, dict[str, int]] = {}
    read: set[tuple[date, str]] = {(day, d) for day, ids in listing.items() for d in ids}
    for year in years:
        counts: Counter[str] = Counter()
        for day in documents.program_year_dates(year, stored):
            ids = listing.get(day)
            if ids is None:
                ids = store.list_districts(logical_date=day)
            wanted = set(districts)
            for d in ids:
                if d in wanted:
                    counts[d] += 1
                    read.add((day, d))
        year_files[year] = counts
    units: list[PlannedUnit] = []
    for year in years:
        first_of_year = min(day for day in in_range if program_year_of(day) == year)
        for district_id in districts:
            if year_files[year][district_id]:
                units.append(PlannedUnit(first_of_year, district_id, UnitStatus.PENDING))
            else:
                reason = f"no stored snapshot of program year {year} has district {district_id}"
                units.append(
                    PlannedUnit(first_of_year, district_id, UnitStatus.UNAVAILABLE, reason)
                )
    for day in in_range:
        # Rankings rank every district of the date's summary, never the stored subset.
        reason = (
            analytics.missing_summary_reason(day)
            if listing[day]
            else f"the snapshot of {day} has no district file to rank"
        )
        if reason:
            units.append(PlannedUnit(day, ALL_DISTRICTS, UnitStatus.UNAVAILABLE, reason))
        else:
            units.append(PlannedUnit(day, ALL_DISTRICTS, UnitStatus.PENDING))
    units.sort(key=lambda u: (u.logical_date, district_sort_key(u.district_id)))
    if len(units) > settings.BACKFILL_MAX_JOB_UNITS:
        raise ValidationError(
            {
                "endDate": [
                    f"{len(units)} units is more than {settings.BACKFILL_MAX_JOB_UNITS} "
                    "(BACKFILL_MAX_JOB_UNITS); split the job."
                ]
            }
        )
    start, end = first, last
    statuses = analytics.snapshot_statuses(in_range)
    stored_set = set(stored)
    reads = SnapshotReads(
        snapshot_dates=len({day for day, _ in read}),
        district_files=len(read),
        program_years=tuple(years),
        missing_dates=tuple(
            day
            for day in (start + timedelta(days=i) for i in range((end - start).days + 1))
            if day not in stored_set
        ),
        partial_dates=tuple(d for d in in_range if statuses[d] != SnapshotStatus.COMPLETED),
    )
    scope = _scope_json(request, resolution)
    return Plan(
        request=request,
        collection_strategy=CollectionStrategy.ANALYTICS,
        rationale=(
            f"analytics from the stored snapshots: time series of {len(districts)} districts "
            f"over {len(years)} program year(s) and rankings of {len(in_range)} dates; no "
            "request to the dashboard"
        ),
        estimated_efficiency=0.0,
        scope=scope,
        districts=tuple(districts),
        dates=in_range,
        warnings=tuple(warnings),
        planned=tuple(units),
        reads=reads,
    )


def _analytics_preview(plan_: Plan) -> Preview:
    reads = plan_.reads
    totals = Counter(str(u.status) for u in plan_.planned)
    by_date: dict[date, list[PlannedUnit]] = {}
    for unit in plan_.planned:
        by_date.setdefault(unit.logical_date, []).append(unit)
    partial = set(reads.partial_dates)
    missing = set(reads.missing_dates)
    dates: list[DatePlan] = []
    day, end = plan_.start_date, plan_.end_date
    while day <= end:
        units = by_date.get(day, [])
        counts = dict(Counter(str(u.status) for u in units))
        if day in missing:
            dates.append(DatePlan(day, "missing", "no snapshot stored", counts))
        elif any(u.status == UnitStatus.PENDING for u in units):
            reason = "read" + (" (snapshot not completed: partial)" if day in partial else "")
            dates.append(DatePlan(day, "read", reason, counts))
        else:
            reasons = [u.reason for u in units if u.reason]
            dates.append(DatePlan(day, "unavailable", reasons[0] if reasons else "", counts))
        day += timedelta(days=1)
    concurrency = max(1, min(plan_.request.concurrency, RateLimitConfig.load().max_concurrent))
    return Preview(
        collection_strategy=plan_.collection_strategy,
        rationale=plan_.rationale,
        estimated_efficiency=plan_.estimated_efficiency,
        scope=plan_.scope,
        total_units=sum(totals.values()),
        units=dict(totals),
        requests=0,
        estimated_duration_seconds=round(
            reads.district_files * ANALYTICS_SECONDS_PER_FILE / concurrency, 1
        ),
        warnings=plan_.warnings,
        dates=tuple(dates),
        reads=reads,
    )


@dataclass(frozen=True)
class DatePlan:
    """What a job does for one date: `fetch` (some unit will run), `stored` (every unit already
    stored), `waiting` (a month end whose month is still closing) or `unavailable` (closing
    period, before the data starts), with the reason and the date's units by status."""

    logical_date: date
    plan: str
    reason: str
    by_status: dict[str, int]

    @property
    def units(self) -> int:
        return sum(self.by_status.values())

    @property
    def pending_units(self) -> int:
        return self.by_status.get(UnitStatus.PENDING, 0)


@dataclass(frozen=True)
class Preview:
    collection_strategy: str
    rationale: str
    estimated_efficiency: float
    scope: dict[str, Any]
    total_units: int
    units: dict[str, int]  # unit status -> count, over every date
    requests: int
    estimated_duration_seconds: float
    warnings: tuple[str, ...]
    dates: tuple[DatePlan, ...]
    # Analytics generation: the snapshots it reads (None for data collection).
    reads: SnapshotReads | None = None

    @property
    def pending_units(self) -> int:
        return self.units.get(UnitStatus.PENDING, 0)

    @property
    def skipped_units(self) -> int:
        return self.units.get(UnitStatus.SKIPPED, 0)

    @property
    def unavailable_units(self) -> int:
        return self.units.get(UnitStatus.UNAVAILABLE, 0)

    @property
    def waiting_units(self) -> int:
        return self.units.get(UnitStatus.WAITING, 0)


def preview(plan_: Plan) -> Preview:
    """What a job would do, date by date, without writing anything."""
    if plan_.planned is not None:
        return _analytics_preview(plan_)
    from_archive = plan_.request.from_archive
    # Days most likely in the closing period of a month whose closing date is still to be
    # found: their units end `unavailable` after one discovery of that month (at most
    # MAX_DISCOVERY_REQUESTS requests), not after a request each.
    estimated = (
        {} if from_archive else estimated_closing_days(plan_.dates, today=timezone.localdate())
    )
    probed: set[date] = set()
    dates: list[DatePlan] = []
    totals: Counter[str] = Counter()
    for day, planned in groupby(plan_.units(), key=lambda u: u.logical_date):
        units = list(planned)
        if day in estimated and any(u.status == UnitStatus.PENDING for u in units):
            month, reason = estimated[day]
            probed.add(month)
            units = [
                replace(u, status=UnitStatus.UNAVAILABLE, reason=reason)
                if u.status == UnitStatus.PENDING
                else u
                for u in units
            ]
        counts = Counter(str(u.status) for u in units)
        totals.update(counts)
        dates.append(_date_plan(day, units, counts, from_archive=from_archive))
    requests = (
        0
        if from_archive
        else totals[UnitStatus.PENDING] * REQUESTS_PER_UNIT[plan_.collection_strategy]
        + len(probed) * MAX_DISCOVERY_REQUESTS
        + len(summary_dates(plan_, dates))
    )
    return Preview(
        collection_strategy=plan_.collection_strategy,
        rationale=plan_.rationale,
        estimated_efficiency=plan_.estimated_efficiency,
        scope=plan_.scope,
        total_units=sum(totals.values()),
        units=dict(totals),
        requests=requests,
        estimated_duration_seconds=estimated_duration(requests=requests, request=plan_.request),
        warnings=plan_.warnings,
        dates=tuple(dates),
    )


def summary_dates(plan_: Plan, dates: Sequence[DatePlan]) -> list[date]:
    """The dates whose all-districts summary a per-district job collects (one request each):
    those with a unit to fetch whose summary is not archived yet (none with collectSummary
    false or from the archive)."""
    if (
        plan_.collection_strategy != CollectionStrategy.PER_DISTRICT
        or plan_.request.from_archive
        or not plan_.request.collect_summary
    ):
        return []
    return [
        d.logical_date
        for d in dates
        if d.pending_units and not analytics.summary_archived(d.logical_date)
    ]


def _date_plan(
    day: date, units: list[PlannedUnit], counts: Counter[str], *, from_archive: bool = False
) -> DatePlan:
    pending = counts[UnitStatus.PENDING]
    if pending:
        verb = "will re-normalize from the archive" if from_archive else "will fetch"
        others = [u.reason for u in units if u.status != UnitStatus.PENDING and u.reason]
        reason = (
            verb
            if pending == len(units)
            else f"{verb} {pending} of {len(units)} units; the others: {others[0]}"
        )
        return DatePlan(day, "fetch", reason, dict(counts))
    if set(counts) == {UnitStatus.SKIPPED}:
        plan_word = "stored"
    elif UnitStatus.WAITING in counts:
        plan_word = "waiting"
    else:
        plan_word = "unavailable"
    return DatePlan(day, plan_word, units[0].reason, dict(counts))


def estimated_duration(*, requests: int, request: BackfillRequest) -> float:
    """Seconds until the last of `requests` may go out under the global limiter's rule.

    The limiter (backfill/limits/limiter.py) grants a request when fewer than `max_requests`
    went out in the last `window_ms` and at least the minimum delay (the larger of the global
    one and the job's `rateLimitDelayMs`) has passed since the previous one. Request i (from 0)
    then goes out at max(i * delay, (i // max_requests) * window + (i % max_requests) * delay):
    spaced by the delay, in bursts of `max_requests` per window when the delay alone would
    exceed the window's budget. Response times and 429 cool-downs come on top.
    """
    if requests <= 0:
        return 0.0
    config = RateLimitConfig.load()
    per_window = max(config.max_requests, 1)
    delay = max(config.min_delay_ms, request.rate_limit_delay_ms or 0) / 1000
    window = config.window_ms / 1000
    last = requests - 1
    return float(
        round(max(last * delay, (last // per_window) * window + (last % per_window) * delay), 3)
    )
