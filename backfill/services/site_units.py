"""Running the units of the district-statistics site's job types, and the publish history.

- A publish unit writes one stored date's files to the job's destination
  (`website.publishing.publish_dates`); the indexes step (`publish_indexes`, `v1/latest.json`
  last) runs once the job's last unit has ended, from `assembly`. Every step leaves a
  `PublishStep` (objects written and skipped, bytes, paths, errors, duration): the admin's
  publish history.
- An import unit reads one date of the site's tree (`website.importing.import_date`, which
  stores and assembles the date's snapshot itself): files that fail our contracts are refused,
  nothing of them stored, and the unit fails with each refused file and its reason (not
  retried: the same file fails the same way); districts already stored are left alone.

Neither sends a request to the dashboard. Both go through the same claim, lease, retry and
finish as every unit (`execution`).
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime

from django.utils import timezone

from districts.dashboard.errors import ErrorType
from snapshots import store
from website import importing, publishing
from website.errors import PublishError
from website.sources import SiteSourceError

from ..models import BackfillJob, BackfillUnit, JobType, PublishStep, UnitStatus
from . import unit_outcomes
from .unit_outcomes import UnitOutcome

log = logging.getLogger(__name__)

# Refused files listed in a unit's message (the rest are counted).
LISTED_REFUSALS = 20


def run_site_unit(unit: BackfillUnit, job: BackfillJob) -> UnitOutcome:
    """Publish or import the unit's date. Never raises: every failure is the unit's outcome."""
    context = f"job {job.pk} unit {unit.pk} ({job.job_type} {unit.logical_date})"
    try:
        if job.job_type == JobType.PUBLISH:
            return _publish_date(unit, job)
        return _import_date(unit, job)
    except store.StoreUnwritable as exc:
        return unit_outcomes.store_unwritable(context, exc, ErrorType.PROCESSING_FAILED)
    except store.SnapshotStoreError as exc:
        log.error("%s: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, str(exc), True)
    except SiteSourceError as exc:
        # The site's tree did not answer (a bucket, a mount): it may come back.
        log.error("%s: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.FETCH_FAILED, str(exc), True)
    except PublishError as exc:
        # No usable destination (it was valid when the job was created): retrying will not help.
        log.error("%s: %s", context, exc.message)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, exc.message, False)
    except Exception as exc:
        return unit_outcomes.unexpected(context, exc)


def _publish_date(unit: BackfillUnit, job: BackfillJob) -> UnitOutcome:
    destination = job.request["destination"]
    started, clock = timezone.now(), time.monotonic()
    outcome = publishing.publish_dates(destination, [unit.logical_date])
    record_run(
        job=job,
        logical_date=unit.logical_date,
        destination=destination,
        outcome=outcome,
        started_at=started,
        seconds=time.monotonic() - clock,
    )
    if outcome.errors:
        message = f"{len(outcome.errors)} object(s) not written: " + "; ".join(outcome.errors)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, message, True)
    return UnitOutcome(UnitStatus.SUCCEEDED)


def _import_date(unit: BackfillUnit, job: BackfillJob) -> UnitOutcome:
    source = job.request["source"]
    outcome = importing.import_date(source, unit.logical_date)
    if outcome.refused:
        listed = "; ".join(f"{name}: {why}" for name, why in outcome.refused[:LISTED_REFUSALS])
        more = len(outcome.refused) - LISTED_REFUSALS
        message = (
            f"{len(outcome.refused)} file(s) refused, {len(outcome.stored)} stored: {listed}"
            + (f"; and {more} more" if more > 0 else "")
        )
        log.warning("job %s: import of %s: %s", job.pk, unit.logical_date, message)
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.VALIDATION_FAILED, message, False)
    if outcome.stored:
        return UnitOutcome(UnitStatus.SUCCEEDED)
    if outcome.skipped:
        message = f"already stored: {len(outcome.skipped)} district(s), left alone"
        return UnitOutcome(UnitStatus.SKIPPED, message=message)
    message = f"the site's tree has no district file of {unit.logical_date}"
    return UnitOutcome(UnitStatus.UNAVAILABLE, 0, ErrorType.DATA_UNAVAILABLE, message, False)


def publish_indexes(*, job: BackfillJob) -> PublishStep:
    """Write the destination's indexes (`v1/latest.json` last) once the job's dates are
    written, and record the step. Raises what `website.publishing.publish_indexes` raises."""
    destination = job.request["destination"]
    started, clock = timezone.now(), time.monotonic()
    outcome = publishing.publish_indexes(destination)
    run = record_run(
        job=job,
        logical_date=None,
        destination=destination,
        outcome=outcome,
        started_at=started,
        seconds=time.monotonic() - clock,
    )
    log.info(
        "job %s: indexes published to %s: %s written, %s unchanged, %s error(s)",
        job.pk,
        destination,
        outcome.written,
        outcome.skipped,
        len(outcome.errors),
    )
    return run


def indexes_not_published(*, job: BackfillJob, message: str) -> PublishStep:
    """Record an indexes step that could not start (the destination refused): the job then
    ends partial (`indexes_failed`)."""
    log.error("job %s: indexes not published: %s", job.pk, message)
    return PublishStep.objects.create(
        job=job,
        logical_date=None,
        destination=job.request["destination"],
        errors=[message],
        started_at=timezone.now(),
    )


def indexes_failed(job: BackfillJob) -> bool:
    """Did a publish job's last indexes step leave errors (the job then ends partial)?"""
    if job.job_type != JobType.PUBLISH:
        return False
    last = job.publish_steps.filter(logical_date__isnull=True).order_by("-started_at").first()
    return bool(last and last.errors)


def record_run(
    *,
    job: BackfillJob,
    logical_date: date | None,
    destination: str,
    outcome: publishing.PublishOutcome,
    started_at: datetime,
    seconds: float,
) -> PublishStep:
    """One step of a publish job in the publish history."""
    return PublishStep.objects.create(
        job=job,
        logical_date=logical_date,
        destination=destination,
        written=outcome.written,
        skipped=outcome.skipped,
        bytes=outcome.bytes,
        paths=list(outcome.paths),
        errors=list(outcome.errors),
        started_at=started_at,
        duration_ms=int(seconds * 1000),
    )
