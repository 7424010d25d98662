"""Executing one unit: collect its data from the dashboard and write it to the snapshot store.

A unit is idempotent: run twice, it writes the same files (atomically) and counts once.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings

from districts import services as district_services
from districts.dashboard.client import DashboardClient
from districts.dashboard.collect import CollectionCancelled, collect_district, collect_summary
from districts.dashboard.errors import DashboardError, ErrorType
from snapshots import store

from .. import limits
from ..models import BackfillJob, BackfillUnit, CollectionStrategy, JobStatus, UnitStatus
from . import jobs

log = logging.getLogger(__name__)

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


class _StopCheck:
    """Cooperative cancel: re-reads the job's status at most once a second; doubles as the
    job's heartbeat while a unit waits (on the rate limiter, say)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.checked_at = 0.0
        self.stopped = False

    def __call__(self) -> bool:
        if not self.stopped and time.monotonic() - self.checked_at >= 1.0:
            self.checked_at = time.monotonic()
            status = jobs.touch_heartbeat(job_id=self.job_id)
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


def run_unit(*, unit_id: int) -> UnitOutcome | None:
    """Execute a claimed unit and record its end. Returns None when there was nothing to do
    (the unit had already ended: a redelivered task)."""
    unit = BackfillUnit.objects.select_related("job").filter(pk=unit_id).first()
    if unit is None or unit.status != UnitStatus.RUNNING:
        return None
    job = unit.job
    if job.status not in IN_FLIGHT_JOB_STATUSES:
        outcome = UnitOutcome(UnitStatus.CANCELLED, message="job cancelled before the unit ran")
        jobs.finish_unit(unit_id=unit.pk, status=outcome.status, message=outcome.message)
        return outcome
    BackfillUnit.objects.filter(pk=unit.pk).update(attempts=unit.attempts + 1)
    attempt = unit.attempts + 1
    client, stop = _client_for(job)
    before = client.requests_made
    outcome = _collect(unit, job, client, stop)
    requests = client.requests_made - before
    max_attempts = settings.BACKFILL_UNIT_MAX_ATTEMPTS if job.retry_failures else 1
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
        BackfillUnit.objects.filter(pk=unit.pk).update(
            error_type=outcome.error_type, error_message=outcome.message[:2000]
        )
        jobs.requeue_unit(unit_id=unit.pk, countdown=countdown)
        return outcome
    jobs.finish_unit(
        unit_id=unit.pk,
        status=outcome.status,
        error_type=outcome.error_type,
        message=outcome.message,
        retryable=outcome.retryable,
        requests_made=requests,
    )
    return outcome


def _collect(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: _StopCheck
) -> UnitOutcome:
    context = f"job {job.pk} unit {unit.pk} ({unit.logical_date} {unit.district_id or 'all'})"
    try:
        if job.collection_strategy == CollectionStrategy.PER_DISTRICT:
            _collect_district(unit, client, stop)
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
    except store.SnapshotStoreError as exc:
        log.error("%s: snapshot write failed: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.SNAPSHOT_CREATION_FAILED, str(exc), True)
    return UnitOutcome(UnitStatus.SUCCEEDED)


def _collect_district(unit: BackfillUnit, client: DashboardClient, stop: _StopCheck) -> None:
    collected = collect_district(
        client, district_id=unit.district_id, logical_date=unit.logical_date, should_stop=stop
    )
    for report, data in collected.raw.items():
        store.archive_raw_csv(
            as_of=collected.as_of, report=report, district_id=unit.district_id, data=data
        )
    store.write_district(logical_date=unit.logical_date, statistics=collected.statistics)


def _collect_summary(
    unit: BackfillUnit, job: BackfillJob, client: DashboardClient, stop: _StopCheck
) -> None:
    collected = collect_summary(client, logical_date=unit.logical_date, should_stop=stop)
    store.archive_raw_csv(
        as_of=collected.as_of, report="districtsummary", district_id=None, data=collected.raw
    )
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
