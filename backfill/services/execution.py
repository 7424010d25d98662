"""Running one unit on a worker: claim its lease (`units.claim_unit`), keep it renewed while the
unit runs, execute it (a data unit: `collecting`; an analytics unit: its analytics document
generated from the store; a publish or import unit: `site_units`), and record its end:
finished, retried later (requeued), or put back while the store cannot take writes.

A unit is idempotent: run twice, it writes the same files (atomically) and counts once.
Analytics, publish and import units go through the same claim, lease, retry and finish as
collection units, but never touch the dashboard: no HTTP client, no rate limiter or breaker,
no month-end probing.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from analytics import services as analytics
from backfill_project import log_context
from districts.dashboard.errors import ErrorType
from districts.dashboard.urls import program_year_of
from districts.ids import ALL_DISTRICTS
from snapshots import store

from ..models import BackfillJob, BackfillUnit, JobStatus, JobType, UnitStatus
from . import batches, collecting, site_units, unit_outcomes, units
from .unit_outcomes import UnitOutcome

log = logging.getLogger(__name__)

# Runs of a unit that may be lost (killed worker, lost lease) beyond its attempts before the unit
# counts as poison and fails.
LOST_RUNS_TOLERATED = 3
# Jobs whose units do not go through `collecting` (no `StopCheck` of their own).
_NOT_COLLECTING = (JobType.ANALYTICS_GENERATION, JobType.PUBLISH, JobType.IMPORT)


class _LeaseKeeper:
    """Renews a claimed unit's lease from a background thread every third of the lease, so a
    unit inside one long request, download or wait keeps it, and a dead process loses it within
    one lease. `lost` is set when the lease is no longer this runner's (the unit was dispatched
    again or ended elsewhere): the unit then stops before its next request."""

    def __init__(self, *, unit_id: int, token: str, batch: bool = False) -> None:
        self.unit_id = unit_id
        self.token = token
        # A batch's keeper renews every running unit of the batch (`batches.renew`).
        self._renew = (
            (lambda: batches.renew(token=token))
            if batch
            else (lambda: units.renew_lease(unit_id=unit_id, token=token))
        )
        self.lost = threading.Event()
        self._done = threading.Event()
        # In the unit's context, so that its lines carry the unit's fields too.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run,),
            name=f"lease-{unit_id}",
            daemon=True,
        )

    def __enter__(self) -> _LeaseKeeper:
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
                    if not self._renew():
                        log.warning("unit %s: lease lost, stopping", self.unit_id)
                        self.lost.set()
                        return
                except DatabaseError as exc:
                    # The lease runs out if this lasts; until then the unit keeps going.
                    log.warning("unit %s: lease not renewed: %s", self.unit_id, exc)
        finally:
            connection.close()  # this thread's own connection


def run_unit(
    *, unit_id: int | list[int], token: str, owner: str = "", pid: int = 0
) -> UnitOutcome | None:
    """Claim a dispatched unit (its lease `token`, for worker `owner`, process `pid`), execute
    it while renewing its lease, and record its end. Returns None when there was nothing to do:
    a late or duplicate message, or a unit already ended. A message of a store-bound job names
    a batch of units (a list of ids): `run_batch`."""
    if isinstance(unit_id, list):
        return run_batch(unit_ids=unit_id, token=token, owner=owner, pid=pid)
    if not units.claim_unit(unit_id=unit_id, token=token, owner=owner, pid=pid):
        log.info("unit %s: message ignored (token %s is not the unit's lease)", unit_id, token)
        return None
    unit = BackfillUnit.objects.select_related("job").get(pk=unit_id)
    with log_context.unit_context(
        job_id=unit.job_id,
        unit_id=unit.pk,
        logical_date=unit.logical_date,
        district_id=unit.district_id,
    ):
        return _run_claimed(unit, token=token, owner=owner, pid=pid)


def _run_claimed(unit: BackfillUnit, *, token: str, owner: str, pid: int) -> UnitOutcome:
    job = unit.job
    log.info("unit %s claimed by %s pid %s token %s", unit.pk, owner, pid, token)
    if job.status not in collecting.IN_FLIGHT_JOB_STATUSES:
        outcome = UnitOutcome(UnitStatus.CANCELLED, message="job cancelled before the unit ran")
        _finish(unit, token, outcome)
        return outcome
    attempt = unit.attempts
    poison = _poison(unit, job, attempt)
    if poison is not None:
        _finish(unit, token, poison)
        return poison
    with _LeaseKeeper(unit_id=unit.pk, token=token) as lease:
        outcome, requests = _execute(unit, job, lease)
    if outcome.status == UnitStatus.PENDING:
        # Put back to wait for the store, not retried in a loop nor counted as an attempt.
        if units.release_unit(unit_id=unit.pk, token=token, requests_made=requests):
            log.info("unit %s ended put_back token %s", unit.pk, token)
            return outcome
        outcome = UnitOutcome(
            UnitStatus.CANCELLED, message="job cancelled while the unit waited for the store"
        )
    if _retried(unit, job, token, outcome, attempt, requests):
        return outcome
    _finish(unit, token, outcome, requests=requests)
    return outcome


def run_batch(
    *, unit_ids: list[int], token: str, owner: str = "", pid: int = 0
) -> UnitOutcome | None:
    """Claim a dispatched batch of a store-bound job's units (`batches`), run them one after
    another under one lease, and record their ends together. Stops between units when the job
    is no longer running (paused, queued, being cancelled), when the batch's lease was lost,
    when the store cannot take writes, or once `BACKFILL_STORE_BATCH_SECONDS` of work are done:
    the units not run go back to the job's queue (cancelled if it is being cancelled). The
    directories its units wrote in are fsynced once, after its last unit and before their ends
    are recorded; when one cannot be, those that succeeded fail (`_not_synced`). Returns the
    last unit's outcome, None when there was nothing to do (a late or duplicate message)."""
    claimed = batches.claim(ids=unit_ids, token=token, owner=owner, pid=pid)
    if not claimed:
        log.info("batch %s: message ignored (no unit of it is free under its token)", token)
        return None
    job = claimed[0].job
    remaining = list(claimed)
    ended: list[batches.End] = []
    last = None
    with _LeaseKeeper(unit_id=claimed[0].pk, token=token, batch=True) as lease:
        try:
            with store.deferred_directory_syncs():
                last = _run_units(
                    job, remaining, ended, token=token, owner=owner, pid=pid, lease=lease
                )
        except store.SnapshotStoreError as exc:
            ended[:] = _not_synced(job, ended, exc, token=token)
        finally:
            recorded = batches.end(
                job=job, token=token, ended=ended, unstarted=[u.pk for u in remaining]
            )
            for e in ended:
                # "ended" lines let the fault suite check that no unit ran twice at once.
                log.info(
                    "unit %s ended %s token %s (recorded %s)",
                    e.unit.pk,
                    e.status,
                    token,
                    e.unit.pk in recorded,
                )
    return last


def _run_units(job, remaining, ended, *, token, owner, pid, lease) -> UnitOutcome | None:
    """Run a claimed batch's units one after another, taking each from `remaining` and adding
    the ends to record to `ended`, until none is left or the batch stops (`run_batch`).
    Returns the last unit's outcome."""
    last = None
    budget = settings.BACKFILL_STORE_BATCH_SECONDS  # past it, after a unit, the batch stops
    began = checked = time.monotonic()  # the claim read the job's status
    status: str | None = job.status
    # A unit that collects (the archive) checks for a cancel on its own, once a second: the
    # batch's checks stand for it.
    stop = None if job.job_type in _NOT_COLLECTING else collecting.client_for(job)[1]
    if stop is not None:
        stop.seen(status)
    total = len(remaining)
    while remaining:
        now = time.monotonic()
        if len(remaining) < total and now - began >= budget:
            break
        if now - checked >= batches.STATUS_EVERY_SECONDS:
            status = batches.job_status(unit_id=remaining[0].pk, token=token)
            checked = now
            if status and stop is not None:
                stop.seen(status)
        if status != JobStatus.RUNNING or lease.lost.is_set():
            log.info("batch %s stops: job %s", token, status or "no longer its lease's")
            break
        unit = remaining.pop(0)
        with log_context.unit_context(
            job_id=job.pk,
            unit_id=unit.pk,
            logical_date=unit.logical_date,
            district_id=unit.district_id,
        ):
            step = _run_in_batch(unit, job, token=token, owner=owner, pid=pid, lease=lease)
        if isinstance(step, batches.End):
            ended.append(step)
            last = UnitOutcome(step.status, 0, step.error_type, step.message)
        else:
            last = step
            if step.status == UnitStatus.PENDING:
                break  # put back for the store: so are the others
    return last


def _not_synced(
    job: BackfillJob, ended: list[batches.End], exc: store.SnapshotStoreError, *, token: str
) -> list[batches.End]:
    """The ends to record once a directory the batch wrote in could not be synced: the units
    that succeeded wrote files whose renames may not outlast a crash, so they failed (retryable,
    run again while attempts are left, like a failed write) and their files are written anew."""
    outcome = UnitOutcome(
        UnitStatus.FAILED,
        error_type=ErrorType.SNAPSHOT_CREATION_FAILED,
        message=f"written, but not durably: {exc}",
        retryable=True,
    )
    succeeded = [e for e in ended if e.status == UnitStatus.SUCCEEDED]
    log.error(
        "job %s batch %s: %s; its %s units that succeeded fail", job.pk, token, exc, len(succeeded)
    )
    kept = [e for e in ended if e.status != UnitStatus.SUCCEEDED]
    for e in succeeded:
        if not _retried(e.unit, job, token, outcome, e.unit.attempts, 0):
            kept.append(
                dataclasses.replace(
                    e,
                    status=outcome.status,
                    error_type=outcome.error_type,
                    message=outcome.message,
                    retryable=True,
                )
            )
    return kept


def _run_in_batch(unit, job, *, token, owner, pid, lease) -> batches.End | UnitOutcome:
    """Run one unit of a claimed batch (its attempt counted by the claim). Returns its
    `batches.End` to record, or its outcome when it ended otherwise (retried later, or put
    back while the store cannot take writes)."""
    log.info("unit %s claimed by %s pid %s token %s", unit.pk, owner, pid, token)
    began = timezone.now()
    outcome = _poison(unit, job, unit.attempts) or _execute(unit, job, lease)[0]
    if outcome.status == UnitStatus.PENDING:
        if units.release_unit(unit_id=unit.pk, token=token):
            log.info("unit %s ended put_back token %s", unit.pk, token)
            return outcome  # the store cannot take writes: the batch stops after it
        outcome = UnitOutcome(
            UnitStatus.CANCELLED, message="job cancelled while the unit waited for the store"
        )
    if _retried(unit, job, token, outcome, unit.attempts, 0):
        return outcome
    return batches.End(
        unit=unit,
        status=outcome.status,
        started_at=began,
        finished_at=timezone.now(),
        error_type=outcome.error_type,
        message=outcome.message,
        retryable=outcome.retryable,
    )


def _poison(unit: BackfillUnit, job: BackfillJob, attempt: int) -> UnitOutcome | None:
    """Claimed again and again without ever ending: whatever runs it dies (a poison unit).
    Celery keeps no delivery count, so the lease's claim count bounds the loop."""
    max_attempts = settings.BACKFILL_UNIT_MAX_ATTEMPTS if job.retry_failures else 1
    if attempt <= max_attempts + LOST_RUNS_TOLERATED:
        return None
    outcome = UnitOutcome(
        UnitStatus.FAILED,
        error_type=ErrorType.PROCESSING_FAILED,
        message=f"claimed {attempt} times without ending: its runner keeps dying",
        retryable=True,
    )
    log.error("job %s unit %s: %s", job.pk, unit.pk, outcome.message)
    return outcome


def _retried(
    unit: BackfillUnit, job: BackfillJob, token: str, outcome: UnitOutcome, attempt: int, requests
) -> bool:
    """A retryable failure with attempts left: the unit runs again later (requeued under a new
    token, its error kept meanwhile). True when it was requeued (or is no longer ours)."""
    max_attempts = settings.BACKFILL_UNIT_MAX_ATTEMPTS if job.retry_failures else 1
    if not (outcome.status == UnitStatus.FAILED and outcome.retryable and attempt < max_attempts):
        return False
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
    BackfillUnit.objects.filter(pk=unit.pk, lease_token=token).update(
        error_type=outcome.error_type, error_message=outcome.message[:2000]
    )
    requeued = units.requeue_unit(
        unit_id=unit.pk, countdown=countdown, token=token, requests_made=requests
    )
    log.info("unit %s ended retry token %s (%s)", unit.pk, token, requeued)
    return True


def _execute(unit: BackfillUnit, job: BackfillJob, lease: _LeaseKeeper) -> tuple[UnitOutcome, int]:
    """Run one claimed unit by its job's type: its outcome and the dashboard requests it made."""
    if job.job_type == JobType.ANALYTICS_GENERATION:
        return _generate(unit, job), 0
    if job.job_type in (JobType.PUBLISH, JobType.IMPORT):
        return site_units.run_site_unit(unit, job), 0
    client, stop = collecting.client_for(job)
    before = client.requests_made
    stop.lease_lost = lease.lost
    try:
        outcome = collecting.collect(unit, job, client, stop)
    finally:
        stop.lease_lost = None
    return outcome, client.requests_made - before


def _finish(unit: BackfillUnit, token: str, outcome: UnitOutcome, requests: int = 0) -> None:
    recorded = units.finish_unit(
        unit_id=unit.pk,
        token=token,
        status=outcome.status,
        error_type=outcome.error_type,
        message=outcome.message,
        retryable=outcome.retryable,
        requests_made=requests,
        claimed=unit,
    )
    # "ended" lines let the fault suite check that no unit ran twice at the same time.
    log.info("unit %s ended %s token %s (recorded %s)", unit.pk, outcome.status, token, recorded)


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
        return unit_outcomes.store_unwritable(context, exc, ErrorType.PROCESSING_FAILED)
    except store.SnapshotStoreError as exc:
        log.error("%s: analytics document not written: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, str(exc), True)
    except Exception as exc:
        return unit_outcomes.unexpected(context, exc)
    return UnitOutcome(UnitStatus.SUCCEEDED)
