"""Executing one unit: collect its data from the dashboard and write it to the snapshot store,
or, for an analytics-generation job, generate its analytics document from the store.

A unit is idempotent: run twice, it writes the same files (atomically) and counts once.
Analytics units go through the same claim, lease, retry and finish as collection units, but
never touch the dashboard: no HTTP client, no rate limiter or breaker, no month-end probing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from backfill_project.redis_locks import renewed_lock
from districts import services as district_services
from districts.closing_discovery import ClosingDiscovery, discover_closing_date
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
from districts.dashboard.urls import ExportRequest, month_end, program_year_of, request_for_as_of
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
from . import analytics, planning, units

log = logging.getLogger(__name__)

# Probing a month's closing takes a handful of rate-limited requests; units of the same month
# wait for the first prober instead of probing again.
DISCOVERY_LOCK_SECONDS = 300
DISCOVERY_LOCK_LEASE_SECONDS = 10
# Runs of a unit that may be lost (killed worker, lost lease) beyond its attempts before the unit
# counts as poison and fails.
LOST_RUNS_TOLERATED = 3
# A claimed unit runs to its end while its job is in one of these (pause stops dispatch, not
# units in flight); any other status (cancelling, finished) stops it before its next request.
IN_FLIGHT_JOB_STATUSES = (
    JobStatus.RUNNING,
    JobStatus.RECOVERING,
    JobStatus.PAUSED,
    JobStatus.PENDING,
)


@dataclass(frozen=True)
class UnitOutcome:
    status: str
    requests: int = 0
    error_type: str = ""
    message: str = ""
    retryable: bool | None = None


class _LeaseKeeper:
    """Renews a claimed unit's lease from a background thread every third of the lease, so a
    unit inside one long request, download or wait keeps it, and a dead process loses it within
    one lease. `lost` is set when the lease is no longer this runner's (the unit was dispatched
    again or ended elsewhere): the unit then stops before its next request."""

    def __init__(self, *, unit_id: int, token: str | None) -> None:
        self.unit_id = unit_id
        self.token = token
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{unit_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        if self.token is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        interval = max(0.1, settings.BACKFILL_UNIT_LEASE_SECONDS / 3)
        try:
            while not self._done.wait(interval):
                try:
                    if not units.renew_lease(unit_id=self.unit_id, token=self.token):
                        log.warning("unit %s: lease lost, stopping", self.unit_id)
                        self.lost.set()
                        return
                except DatabaseError as exc:
                    # The lease runs out if this lasts; until then the unit keeps going.
                    log.warning("unit %s: lease not renewed: %s", self.unit_id, exc)
        finally:
            connection.close()  # this thread's own connection


class _StopCheck:
    """Cooperative cancel: re-reads the job's status at most once a second; doubles as the
    job's heartbeat while a unit waits (on the rate limiter, say). Also stops at once when the
    running unit's lease was lost (`lease`, set per unit)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.checked_at = 0.0
        self.stopped = False
        self.lease: _LeaseKeeper | None = None

    def __call__(self) -> bool:
        if self.lease is not None and self.lease.lost.is_set():
            return True
        if not self.stopped and time.monotonic() - self.checked_at >= 1.0:
            self.checked_at = time.monotonic()
            status = units.touch_heartbeat(job_id=self.job_id)
            # Only a cancel stops a unit mid-way; a paused (or resumed, queued) job lets its
            # in-flight units finish.
            self.stopped = status not in IN_FLIGHT_JOB_STATUSES
        return self.stopped


# One HTTP client (one connection pool) per job and worker process; jobs run one at a time by
# default, so a handful of entries is plenty.
_clients: OrderedDict[str, tuple[DashboardClient, _StopCheck]] = OrderedDict()
_MAX_CLIENTS = 4


def _client_for(job: BackfillJob) -> tuple[DashboardClient, _StopCheck]:
    key = str(job.pk)
    if key in _clients:
        _clients.move_to_end(key)
        return _clients[key]
    stop = _StopCheck(key)
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


def run_unit(
    *, unit_id: int, token: str | None = None, owner: str = "", pid: int = 0
) -> UnitOutcome | None:
    """Claim a dispatched unit (its lease `token`, for worker `owner`, process `pid`), execute
    it while renewing its lease, and record its end. Returns None when there was nothing to do:
    a late or duplicate message, or a unit already ended."""
    if not units.claim_unit(unit_id=unit_id, token=token, owner=owner, pid=pid):
        log.info("unit %s: message ignored (token %s is not the unit's lease)", unit_id, token)
        return None
    unit = BackfillUnit.objects.select_related("job").get(pk=unit_id)
    job = unit.job
    log.info("unit %s claimed by %s pid %s token %s", unit.pk, owner, pid, token)
    if job.status not in IN_FLIGHT_JOB_STATUSES:
        outcome = UnitOutcome(UnitStatus.CANCELLED, message="job cancelled before the unit ran")
        _finish(unit, token, outcome)
        return outcome
    attempt = unit.attempts
    max_attempts = settings.BACKFILL_UNIT_MAX_ATTEMPTS if job.retry_failures else 1
    if attempt > max_attempts + LOST_RUNS_TOLERATED:
        # Claimed again and again without ever ending: whatever runs it dies (a poison unit).
        # Celery keeps no delivery count, so the lease's claim count bounds the loop.
        outcome = UnitOutcome(
            UnitStatus.FAILED,
            error_type=ErrorType.PROCESSING_FAILED,
            message=f"claimed {attempt} times without ending: its runner keeps dying",
            retryable=True,
        )
        log.error("job %s unit %s: %s", job.pk, unit.pk, outcome.message)
        _finish(unit, token, outcome)
        return outcome
    if job.job_type == JobType.ANALYTICS_GENERATION:
        with _LeaseKeeper(unit_id=unit.pk, token=token):
            outcome = _generate(unit, job)
        requests = 0
    else:
        client, stop = _client_for(job)
        before = client.requests_made
        with _LeaseKeeper(unit_id=unit.pk, token=token) as lease:
            stop.lease = lease
            try:
                outcome = _collect(unit, job, client, stop)
            finally:
                stop.lease = None
        requests = client.requests_made - before
    if outcome.status == UnitStatus.PENDING:
        # Put back to wait for the store, not retried in a loop nor counted as an attempt.
        if units.release_unit(unit_id=unit.pk, token=token, requests_made=requests):
            log.info("unit %s ended put_back token %s", unit.pk, token)
            return outcome
        outcome = UnitOutcome(
            UnitStatus.CANCELLED, message="job cancelled while the unit waited for the store"
        )
    if outcome.status == UnitStatus.FAILED and outcome.retryable and attempt < max_attempts:
        countdown = settings.BACKFILL_UNIT_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        log.warning(
            "job %s unit %s (%s %s) attempt %s failed (%s), again in %.0f s",
            job.pk,
            unit.pk,
            unit.logical_date,
            unit.district_id,
            attempt,
            outcome.message,
            countdown,
        )
        BackfillUnit.objects.filter(pk=unit.pk, lease_token=token or unit.lease_token).update(
            error_type=outcome.error_type, error_message=outcome.message[:2000]
        )
        requeued = units.requeue_unit(
            unit_id=unit.pk, countdown=countdown, token=token, requests_made=requests
        )
        log.info("unit %s ended retry token %s (%s)", unit.pk, token, requeued)
        return outcome
    _finish(unit, token, outcome, requests=requests)
    return outcome


def _finish(unit: BackfillUnit, token: str | None, outcome: UnitOutcome, requests: int = 0) -> None:
    recorded = units.finish_unit(
        unit_id=unit.pk,
        token=token,
        status=outcome.status,
        error_type=outcome.error_type,
        message=outcome.message,
        retryable=outcome.retryable,
        requests_made=requests,
    )
    # "ended" lines let the fault suite check that no unit ran twice at the same time.
    log.info("unit %s ended %s token %s (recorded %s)", unit.pk, outcome.status, token, recorded)


def _collect(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: _StopCheck
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
        return _store_unwritable(context, exc, ErrorType.SNAPSHOT_CREATION_FAILED)
    except store.SnapshotStoreError as exc:
        log.error("%s: snapshot write failed: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.SNAPSHOT_CREATION_FAILED, str(exc), True)
    except Exception as exc:
        return _unexpected(context, exc)
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
        covered = planning.stored_covers(unit.logical_date, needed=needed, detail=detail)
    except store.SnapshotStoreError as exc:
        log.warning("unit %s: stored data not readable (%s); collected again", unit.pk, exc)
        return ""
    return f"stored meanwhile by job {other}, after this job was planned" if covered else ""


def _store_unwritable(context: str, exc: store.StoreUnwritable, error_type: str) -> UnitOutcome:
    """The store cannot take writes (full, read-only, refused): no fault of the unit, which
    goes back to its job's queue (`PENDING`, its attempt not counted) once the condition is
    recorded; dispatch then holds every unit until the store takes writes again. When it
    cannot be recorded (Redis unreachable), the unit fails retryable like any store error."""
    if store.record_unwritable(exc) is None:
        log.error("%s: snapshot write failed: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, error_type, str(exc), True)
    log.info("%s: waits for the snapshot store: %s", context, exc)
    return UnitOutcome(UnitStatus.PENDING, 0, error_type, str(exc), True)


def _unexpected(context: str, exc: Exception) -> UnitOutcome:
    """A bug or a surprise (fetch, parse, normalize, store, analytics) ends its unit, not the
    worker's task: the unit records what happened and the job goes on with the others.

    Celery's soft time limit (CELERY_TASK_SOFT_TIME_LIMIT) is no surprise but a unit that took
    too long, whatever it was waiting for: a `timeout_error`, retryable like any other."""
    if isinstance(exc, SoftTimeLimitExceeded):
        log.warning("%s: stopped by the task's soft time limit", context)
        message = (
            f"the unit ran longer than the task's soft time limit "
            f"({settings.CELERY_TASK_SOFT_TIME_LIMIT} s, CELERY_TASK_SOFT_TIME_LIMIT)"
        )
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.TIMEOUT_ERROR, message, True)
    log.exception("%s: unexpected error", context)
    message = f"unexpected {type(exc).__name__}: {exc}"
    return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, message, False)


def _generate(unit: BackfillUnit, job: BackfillJob) -> UnitOutcome:
    """Generate the analytics document of an analytics-generation unit: the rankings of its
    date (district ALL_DISTRICTS) or the time series of its district over the program year of
    its date. Nothing to read ends the unit `unavailable` with the reason."""
    context = f"job {job.pk} unit {unit.pk} ({unit.logical_date} {unit.district_id})"
    try:
        if unit.district_id == ALL_DISTRICTS:
            analytics.generate_rankings(logical_date=unit.logical_date, job_id=job.pk)
        else:
            analytics.generate_district_series(
                district_id=unit.district_id,
                program_year=program_year_of(unit.logical_date),
                job_id=job.pk,
            )
    except analytics.NothingToRead as exc:
        log.info("%s: %s", context, exc)
        return UnitOutcome(UnitStatus.UNAVAILABLE, 0, ErrorType.DATA_UNAVAILABLE, str(exc), False)
    except store.StoreUnwritable as exc:
        return _store_unwritable(context, exc, ErrorType.PROCESSING_FAILED)
    except store.SnapshotStoreError as exc:
        log.error("%s: analytics document not written: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, str(exc), True)
    except Exception as exc:
        return _unexpected(context, exc)
    return UnitOutcome(UnitStatus.SUCCEEDED)


def _in_closing_period(day: date, client: DashboardClient) -> str:
    """Why `day` has no data of its own (it lies in a closing period), or "" to collect it.

    Asks the registry first, which may have learnt the closing date since planning; a day the
    previous month's unknown closing period may cover (`planning.unknown_closing_month`) has
    that closing date found first (one discovery per month, shared by every unit, at most
    `closing_discovery.MAX_REQUESTS` requests), so that no request is spent on a day the site
    serves no data for. When the discovery fails, the day is collected as usual (the answer's
    footer then tells).
    """
    month = planning.unknown_closing_month(day, today=timezone.localdate())
    if month is not None:
        try:
            discover_month_closing(data_month=month, client=client)
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
    return discover_month_closing(data_month=day, client=client).waiting_reason


def discover_month_closing(
    *, data_month: date, client: DashboardClient | None = None, today: date | None = None
) -> ClosingDiscovery:
    """Find (or recall) `data_month`'s closing date by probing the dashboard through the
    global rate limiter and circuit breaker (`districts.closing_discovery`).

    `client` defaults to a new client with the shared limits and no response cache. One process
    probes a month at a time (a Redis lock); the others then find its answer stored. Raises
    DashboardError (including DataUnavailable when probing cannot decide; a retryable
    network_error when Redis is unreachable or the lock is not obtained in time).
    """
    own_client = client is None
    if client is None:
        guard = limits.dashboard_guard(enable_caching=False)
        client = DashboardClient(
            before_request=guard.before_request, after_response=guard.after_response
        )
    month = data_month.replace(day=1)
    name = f"{limits.key_prefix()}:closing-discovery:{month:%Y-%m}"
    try:
        with _one_at_a_time(name):
            return discover_closing_date(client=client, data_month=month, today=today)
    except redis.RedisError as exc:
        raise DashboardError(
            ErrorType.NETWORK_ERROR, f"closing discovery of {month:%Y-%m}: {exc}", retryable=True
        ) from exc
    finally:
        if own_client:
            client.close()


def _one_at_a_time(name: str):
    """A Redis lock for work one process does for all (a month's closing probe, a date's
    summary): waited for up to DISCOVERY_LOCK_SECONDS, as the holder may itself wait on the rate
    limiter that long, but held only while its holder lives (a short lease it renews), so a
    worker killed mid-way blocks the others for one lease, not the whole wait."""
    return renewed_lock(
        limits.get_redis(), name, lease=DISCOVERY_LOCK_LEASE_SECONDS, wait=DISCOVERY_LOCK_SECONDS
    )


def discover_recent_closings(*, today: date | None = None) -> list[ClosingDiscovery]:
    """Probe the months that ended recently (`planning.recent_month_ends`) whose closing date is
    unknown, so that the daily gap fill can collect their month ends once closed. Failures are
    logged, never raised: the gap fill goes on with what is known."""
    today = today or timezone.localdate()
    found: list[ClosingDiscovery] = []
    for day in planning.recent_month_ends(today=today):
        if closing_date_for(day) is not None:
            continue
        try:
            found.append(discover_month_closing(data_month=day, today=today))
        except DashboardError as exc:
            log.warning("closing date of %s not discovered: %s", f"{day:%Y-%m}", exc)
    return found


def _collect_district(unit: BackfillUnit, client: DashboardClient, stop: _StopCheck) -> None:
    collected = collect_district(
        client, district_id=unit.district_id, logical_date=unit.logical_date, should_stop=stop
    )
    for report, data in collected.raw.items():
        store.archive_raw_csv(
            as_of=collected.as_of, report=report, district_id=unit.district_id, data=data
        )
    store.write_district(logical_date=unit.logical_date, statistics=collected.statistics)


def _collect_date_summary(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: _StopCheck
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
        with _one_at_a_time(name):
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
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: _StopCheck
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


def _renormalize(unit: BackfillUnit, job: BackfillJob, stop: _StopCheck) -> None:
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
