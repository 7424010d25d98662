"""Thin Celery tasks: ids in, services do the work (STYLE.md)."""

import os

from celery import shared_task
from celery.signals import worker_ready

from snapshots import performance

from .services import (
    audits,
    cleanup,
    closing_dates,
    daily_publish,
    dispatch,
    execution,
    gap_fill,
    recovery,
)


# No result stored: the unit's row is its record, and a result row per unit (django-db backend)
# would cost a store-bound unit a database round trip or two for nobody to read.
@shared_task(
    name="backfill.tasks.run_unit",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_unit(self, unit_id: int | list[int], token: str) -> str | None:
    # The lease records which worker (hostname) and pool process runs the unit. A store-bound
    # job's message names a batch of units (a list of ids), run one after another.
    try:
        outcome = execution.run_unit(
            unit_id=unit_id, token=token, owner=self.request.hostname or "", pid=os.getpid()
        )
    finally:
        performance.flush()  # the store's figures of the unit, for every process to see
    return outcome.status if outcome else None


@shared_task(name="backfill.tasks.assemble_snapshot")
def assemble_snapshot(assembly_id: int) -> bool:
    return dispatch.assemble_and_dispatch(assembly_id=assembly_id)


@shared_task(name="backfill.tasks.start_queued_jobs")
def start_queued_jobs() -> list[str]:
    return dispatch.start_queued_jobs()


@shared_task(name="backfill.tasks.recover_jobs")
def recover_jobs() -> list[str]:
    return recovery.recover_jobs()


@shared_task(name="backfill.tasks.cleanup_jobs")
def cleanup_jobs() -> dict[str, int]:
    return cleanup.cleanup_jobs()


@shared_task(name="backfill.tasks.reclaim_lost_units")
def reclaim_lost_units() -> list[str]:
    return recovery.reclaim_lost_units()


@worker_ready.connect
def recover_on_worker_start(**kwargs) -> None:
    """A worker that starts re-dispatches lost units (a crash may have left some behind) and
    resumes stale jobs."""
    recover_jobs.delay()


@shared_task(name="backfill.tasks.fill_yesterday")
def fill_yesterday() -> str | None:
    # Closing dates first, so that month ends that waited are collected in the same run.
    closing_dates.discover_recent_closings()
    job = gap_fill.fill_gap(days_back=1)
    return str(job.pk) if job else None


@shared_task(name="backfill.tasks.audit_snapshots")
def audit_snapshots() -> dict[str, int]:
    checked = audits.audit_snapshots()
    return {outcome: sum(a.outcome == outcome for a in checked) for outcome in audits.AuditOutcome}


@shared_task(name="backfill.tasks.publish_site")
def publish_site() -> str | None:
    job = daily_publish.publish_daily()
    return str(job.pk) if job else None
