"""Collecting a data unit: its date's (or district's) exports fetched from the dashboard through
the limits (one HTTP client a job, `client_for`, whose stop check is the cooperative cancel and
the job's heartbeat), or re-read from the raw archive, then normalized and written to the
snapshot store. `execution.run_unit` claims the unit, calls `collect` and records its end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

import redis
from django.utils import timezone

from analytics import services as analytics
from districts import services as district_services
from districts.dashboard.client import DashboardClient
from districts.dashboard.closing import closing_date_for, closing_period_month
from districts.dashboard.collect import (
    CollectedSummary,
    CollectionCancelled,
    Fetch,
    accept,
    collect_district,
    collect_summary,
    district_from,
    summary_from,
)
from districts.dashboard.csv import ParsedExport
from districts.dashboard.errors import DashboardError, DataUnavailable, ErrorType
from districts.dashboard.urls import ExportRequest, month_end, request_for_as_of
from districts.ids import ALL_DISTRICTS, canonical_district_id
from snapshots import store

from .. import limits
from ..models import (
    BackfillJob,
    BackfillUnit,
    CollectionStrategy,
    JobStatus,
    JobType,
    Source,
    UnitStatus,
)
from . import closing_dates, unit_outcomes, units
from .planning.month_ends import unknown_closing_month
from .planning.stored import stored_covers
from .unit_outcomes import UnitOutcome

log = logging.getLogger(__name__)

# A claimed unit runs to its end while its job is in one of these (pause stops dispatch, not
# units in flight); any other status (cancelling, finished) stops it before its next request.
IN_FLIGHT_JOB_STATUSES = (
    JobStatus.RUNNING,
    JobStatus.PAUSED,
    JobStatus.PENDING,
)


class StopCheck:
    """Cooperative cancel: re-reads the job's status at most once a second; doubles as the
    job's heartbeat while a unit waits (on the rate limiter, say). Also stops at once when the
    running unit's lease was lost (`lease_lost`, set per unit)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.checked_at = 0.0
        self.stopped = False
        self.lease_lost: threading.Event | None = None

    def __call__(self) -> bool:
        if self.lease_lost is not None and self.lease_lost.is_set():
            return True
        if not self.stopped and time.monotonic() - self.checked_at >= 1.0:
            self.checked_at = time.monotonic()
            status = units.touch_heartbeat(job_id=self.job_id)
            # Only a cancel stops a unit mid-way; a paused (or resumed, queued) job lets its
            # in-flight units finish.
            self.stopped = status not in IN_FLIGHT_JOB_STATUSES
        return self.stopped

    def seen(self, status: str) -> None:
        """The job's status as read by a batch between its units (`execution.run_batch`, more
        often than this check): counts as this check, so a batch's units neither read it again
        nor touch the heartbeat (the batch's end does) and wait on the job's row for it."""
        self.checked_at = time.monotonic()
        self.stopped = status not in IN_FLIGHT_JOB_STATUSES


# One HTTP client (one connection pool) per job and worker process; jobs run one at a time by
# default, so a handful of entries is plenty.
_clients: OrderedDict[str, tuple[DashboardClient, StopCheck]] = OrderedDict()
_MAX_CLIENTS = 4


def client_for(job: BackfillJob) -> tuple[DashboardClient, StopCheck]:
    key = str(job.pk)
    if key in _clients:
        _clients.move_to_end(key)
        return _clients[key]
    stop = StopCheck(key)
    guard = limits.dashboard_guard(
        min_delay_ms=job.rate_limit_delay_ms,
        enable_caching=job.enable_caching,
        should_stop=stop,
        priority=job.is_priority,
    )
    client = DashboardClient(
        before_request=guard.before_request,
        after_response=guard.after_response,
        cache=guard.cache,
    )
    _clients[key] = (client, stop)
    while len(_clients) > _MAX_CLIENTS:
        old_client, _ = _clients.popitem(last=False)[1]
        old_client.close()
    return client, stop


def collect(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: StopCheck
) -> UnitOutcome:
    context = f"job {job.pk} unit {unit.pk} ({unit.logical_date} {unit.district_id})"
    try:
        stored_by = _stored_meanwhile(unit, job)
        if stored_by:
            log.info("%s skipped: %s", context, stored_by)
            return UnitOutcome(UnitStatus.SKIPPED, message=stored_by)
        if job.source == Source.ARCHIVE:
            _renormalize(unit, job, stop)
            return UnitOutcome(UnitStatus.SUCCEEDED)
        closing = _in_closing_period(unit.logical_date, client)
        if closing:
            log.info("%s: %s", context, closing)
            unavailable = ErrorType.DATA_UNAVAILABLE
            return UnitOutcome(UnitStatus.UNAVAILABLE, 0, unavailable, closing, False)
        waiting = _month_end_waiting(unit.logical_date, client)
        if waiting:
            log.info("%s waits: %s", context, waiting)
            return UnitOutcome(UnitStatus.WAITING, message=waiting)
        if job.collection_strategy == CollectionStrategy.PER_DISTRICT:
            _collect_district(unit, client, stop)
            if job.request.get("collectSummary", True):
                _collect_date_summary(unit, job, client, stop)
        else:
            _collect_summary(unit, job, client, stop)
    except CollectionCancelled:
        return UnitOutcome(UnitStatus.CANCELLED, message="job cancelled")
    except DashboardError as exc:
        status = (
            UnitStatus.UNAVAILABLE
            if exc.error_type == ErrorType.DATA_UNAVAILABLE
            else UnitStatus.FAILED
        )
        log.info("%s: %s", context, exc)
        return UnitOutcome(status, 0, exc.error_type, exc.message, exc.retryable)
    except store.StoreUnwritable as exc:
        return unit_outcomes.store_unwritable(context, exc, ErrorType.SNAPSHOT_CREATION_FAILED)
    except store.SnapshotStoreError as exc:
        log.error("%s: snapshot write failed: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.SNAPSHOT_CREATION_FAILED, str(exc), True)
    except Exception as exc:
        return unit_outcomes.unexpected(context, exc)
    return UnitOutcome(UnitStatus.SUCCEEDED)


def _stored_meanwhile(unit: BackfillUnit, job: BackfillJob) -> str:
    """Why the unit need not run ("" when it must): another job stored its (date, district)
    since this job was planned, so running it would only do that work again (two identical
    jobs created at once, a daily refresh beside a backfill of the same dates).

    Decided again when the unit starts, as planning decided it, for jobs that skip stored data
    (`skip_existing`, every reprocess choice but `all`): another data-collection job has a unit
    of the date that succeeded since this job was created and covers the unit's district, and
    the store holds the data at the detail the unit would collect. This job's own earlier
    attempts never count: a unit whose runner died after writing its file runs again, so that
    its date is assembled by its job."""
    if not job.skip_existing:
        return ""
    if job.collection_strategy == CollectionStrategy.PER_DISTRICT:
        # Only a per-district unit of the same district stores full detail.
        needed, detail, by = (unit.district_id,), "full", [unit.district_id]
    else:
        needed = tuple(
            job.scope.get("targetDistricts") or job.scope.get("configuredDistricts") or ()
        ) or (ALL_DISTRICTS,)
        detail, by = "summary", [*needed, ALL_DISTRICTS]
    other = (
        BackfillUnit.objects.filter(
            logical_date=unit.logical_date,
            district_id__in=by,
            status=UnitStatus.SUCCEEDED,
            finished_at__gte=job.created_at,
            job__job_type=JobType.DATA_COLLECTION,
        )
        .exclude(job_id=job.pk)
        .order_by("finished_at")
        .values_list("job_id", flat=True)
        .first()
    )
    if other is None:
        return ""
    try:
        covered = stored_covers(unit.logical_date, needed=needed, detail=detail)
    except store.SnapshotStoreError as exc:
        log.warning("unit %s: stored data not readable (%s); collected again", unit.pk, exc)
        return ""
    return f"stored meanwhile by job {other}, after this job was planned" if covered else ""


def _in_closing_period(day: date, client: DashboardClient) -> str:
    """Why `day` has no data of its own (it lies in a closing period), or "" to collect it.

    Asks the registry first, which may have learnt the closing date since planning; a day the
    previous month's unknown closing period may cover (`unknown_closing_month`) has
    that closing date found first (one discovery per month, shared by every unit, at most
    `closing_discovery.MAX_REQUESTS` requests), so that no request is spent on a day the site
    serves no data for. When the discovery fails, the day is collected as usual (the answer's
    footer then tells).
    """
    month = unknown_closing_month(day, today=timezone.localdate())
    if month is not None:
        try:
            closing_dates.discover_month_closing(data_month=month, client=client)
        except DashboardError as exc:
            log.warning("closing date of %s not found before %s: %s", f"{month:%Y-%m}", day, exc)
    closing_of = closing_period_month(day)
    if closing_of is None:
        return ""
    return (
        f"{day} lies in the closing period of {closing_of:%Y-%m}: the dashboard serves no data "
        "for it"
    )


def _month_end_waiting(day: date, client: DashboardClient) -> str:
    """Why the unit of `day` must wait for its month's closing period to end, or "".

    A month end whose month's closing date is unknown is probed first (the planner already
    made recent ones wait), so that it is collected at the closing date: never a day of the
    closing period stored as the month's final state.
    """
    if day != month_end(day) or closing_date_for(day) is not None:
        return ""
    return closing_dates.discover_month_closing(data_month=day, client=client).waiting_reason


def _collect_district(unit: BackfillUnit, client: DashboardClient, stop: StopCheck) -> None:
    collected = collect_district(
        client, district_id=unit.district_id, logical_date=unit.logical_date, should_stop=stop
    )
    for report, data in collected.raw.items():
        store.archive_raw_csv(
            as_of=collected.as_of, report=report, district_id=unit.district_id, data=data
        )
    store.write_district(logical_date=unit.logical_date, statistics=collected.statistics)


def _collect_date_summary(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: StopCheck
) -> None:
    """A per-district unit also makes sure its date's all-districts summary is in the raw
    archive, which the rankings read (DOMAIN.md section 8): one request per date, through the
    limiter like every request, by the first unit of the date (a Redis lock; the others then
    find it archived). It writes no district file: the snapshot keeps exactly the job's scope.
    A failure is logged and leaves the district's data stored; the date's next unit, a later
    job or a system-wide collection may still bring the summary (until then the date gets no
    rankings, with the reason)."""
    day = unit.logical_date
    name = f"{limits.key_prefix()}:date-summary:{day.isoformat()}"
    try:
        if analytics.summary_archived(day):
            return
        with closing_dates.one_at_a_time(name):
            if analytics.summary_archived(day):
                return
            collected = collect_summary(client, logical_date=day, should_stop=stop)
            store.archive_raw_csv(
                as_of=collected.as_of,
                report="districtsummary",
                district_id=None,
                data=collected.raw,
            )
            district_services.record_districts_seen(
                seen={d: s.region or "" for d, s in collected.statistics_by_district.items()},
                on=day,
            )
    except (DashboardError, redis.RedisError, store.SnapshotStoreError, CollectionCancelled) as exc:
        log.warning("job %s unit %s: summary of %s not collected: %s", job.pk, unit.pk, day, exc)


def _collect_summary(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: StopCheck
) -> None:
    collected = collect_summary(client, logical_date=unit.logical_date, should_stop=stop)
    store.archive_raw_csv(
        as_of=collected.as_of, report="districtsummary", district_id=None, data=collected.raw
    )
    _store_summary(unit, job, collected)


def _store_summary(unit: BackfillUnit, job: BackfillJob, collected: CollectedSummary) -> None:
    by_district = collected.statistics_by_district
    district_services.record_districts_seen(
        seen={d: s.region or "" for d, s in by_district.items()}, on=unit.logical_date
    )
    wanted = job.scope.get("targetDistricts") or job.scope.get("configuredDistricts")
    if wanted:
        missing = [d for d in wanted if d not in by_district]
        if len(missing) == len(wanted):
            raise DashboardError(
                ErrorType.DATA_UNAVAILABLE,
                f"none of the targeted districts is in the summary of {unit.logical_date}",
                retryable=False,
            )
        if missing:
            log.warning(
                "job %s unit %s: districts %s are not in the summary of %s",
                job.pk,
                unit.pk,
                ", ".join(missing),
                unit.logical_date,
            )
        by_district = {d: s for d, s in by_district.items() if d in set(wanted)}
    for statistics in by_district.values():
        store.write_district(logical_date=unit.logical_date, statistics=statistics)


# --- re-normalizing from the raw archive ------------------------------------------------------


def _renormalize(unit: BackfillUnit, job: BackfillJob, stop: StopCheck) -> None:
    """Run acceptance and normalization again on the unit's archived CSVs and rewrite its
    district files (`source: archive`): no request reaches the dashboard. The exports are
    looked up under the as-of the stored data was collected at (the archive's key), else the
    as-of the date's request names; a missing one raises DataUnavailable naming it."""
    if job.collection_strategy == CollectionStrategy.PER_DISTRICT:
        stored = _stored_as_of(lambda: _stored_district_as_of(unit))
        collected = district_from(
            _archived(stored),
            district_id=unit.district_id,
            logical_date=unit.logical_date,
            should_stop=stop,
        )
        store.write_district(logical_date=unit.logical_date, statistics=collected.statistics)
    else:
        stored = _stored_as_of(lambda: _stored_summary_as_of(unit))
        collected = summary_from(
            _archived(stored), logical_date=unit.logical_date, should_stop=stop
        )
        _store_summary(unit, job, collected)


def _stored_as_of(read: Callable[[], date | None]) -> date | None:
    try:
        return read()
    except store.SnapshotStoreError as exc:
        # An unreadable file is what a re-normalization rewrites; the request's as-of decides.
        log.warning("stored as-of not readable (%s); using the request's", exc)
        return None


def _stored_district_as_of(unit: BackfillUnit) -> date | None:
    stored = store.read_district(logical_date=unit.logical_date, district_id=unit.district_id)
    return stored.as_of_date if stored else None


def _stored_summary_as_of(unit: BackfillUnit) -> date | None:
    manifest = store.read_manifest(logical_date=unit.logical_date) or {}
    return date.fromisoformat(manifest["asOfDate"]) if manifest.get("asOfDate") else None


def _archived(stored_as_of: date | None) -> Fetch:
    """A `Fetch` reading the raw archive: the bytes are accepted against the same request as
    when they were downloaded, so the same rules decide."""

    def fetch(request: ExportRequest) -> tuple[ParsedExport, bytes]:
        if stored_as_of is not None and stored_as_of != request.as_of:
            # The request the stored data was downloaded with, whatever the closing-dates
            # registry says today (a closing date discovered or corrected since).
            replay = request_for_as_of(request.report, stored_as_of, request.district_id)
            if replay.logical_date == request.logical_date:
                request = replay
        district_id = canonical_district_id(request.district_id) if request.district_id else None
        keys = dict.fromkeys(d for d in (stored_as_of, request.as_of) if d is not None)
        for as_of in keys:
            data = store.read_raw_csv(as_of=as_of, report=request.report, district_id=district_id)
            if data is not None:
                return accept(data, request), data
        raise DataUnavailable(
            f"no archived CSV of {request.report} for "
            f"{f'district {district_id}' if district_id else 'every district'} as of "
            f"{' or '.join(map(str, keys))}"
        )

    return fetch
