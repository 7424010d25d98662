"""The preview of a plan: what a job would do, date by date, how many requests it would make and
how long the limiter would take to let them out, without writing anything. Both kinds of job
build their per-date plans their own way and one `Preview` from them (`_preview`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from django.utils import timezone

from analytics import services as analytics
from districts.closing_discovery import MAX_REQUESTS as MAX_DISCOVERY_REQUESTS

from ...models import CollectionStrategy, RateLimitConfig, UnitStatus
from .analytics import ANALYTICS_SECONDS_PER_FILE
from .collection import REQUESTS_PER_UNIT
from .month_ends import estimated_closing_days
from .plan import Plan, PlannedUnit, SnapshotReads
from .request import BackfillRequest


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


def preview_plan(plan_: Plan) -> Preview:
    """What a job would do, date by date, without writing anything."""
    if plan_.collection_strategy in SITE_PLAN_WORDS:
        return _site_preview(plan_)
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
    return _preview(
        plan_,
        dates,
        totals,
        requests=requests,
        duration=estimated_duration(requests=requests, request=plan_.request),
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
    duration = round(reads.district_files * ANALYTICS_SECONDS_PER_FILE / concurrency, 1)
    return _preview(plan_, dates, totals, requests=0, duration=duration, reads=reads)


# A publish or import plan's word for its dates (every planned date has one unit to run).
SITE_PLAN_WORDS = {CollectionStrategy.PUBLISH: "publish", CollectionStrategy.IMPORT: "import"}


def _site_preview(plan_: Plan) -> Preview:
    """A publish or import job: one unit per date, no request; its duration depends on the
    destination or source, so none is estimated."""
    word = SITE_PLAN_WORDS[plan_.collection_strategy]
    totals = Counter(str(u.status) for u in plan_.planned)
    dates = [
        DatePlan(u.logical_date, word, f"will {word}", {str(u.status): 1}) for u in plan_.planned
    ]
    return _preview(plan_, dates, totals, requests=0, duration=0.0)


def _preview(
    plan_: Plan,
    dates: Sequence[DatePlan],
    totals: Counter[str],
    *,
    requests: int,
    duration: float,
    reads: SnapshotReads | None = None,
) -> Preview:
    """The one place a `Preview` is built: the plan's strategy and scope, its units by status
    (`totals`, over every date), the per-date plans and the estimates."""
    return Preview(
        collection_strategy=plan_.collection_strategy,
        rationale=plan_.rationale,
        estimated_efficiency=plan_.estimated_efficiency,
        scope=plan_.scope,
        total_units=sum(totals.values()),
        units=dict(totals),
        requests=requests,
        estimated_duration_seconds=duration,
        warnings=plan_.warnings,
        dates=tuple(dates),
        reads=reads,
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
