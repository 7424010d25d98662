"""Thin Celery tasks: ids in, services do the work (STYLE.md)."""

from celery import shared_task
from celery.signals import worker_ready

from .services import collection, jobs


@shared_task(name="backfill.tasks.run_unit", acks_late=True, reject_on_worker_lost=True)
def run_unit(unit_id: int) -> str | None:
    outcome = collection.run_unit(unit_id=unit_id)
    return outcome.status if outcome else None


@shared_task(name="backfill.tasks.start_queued_jobs")
def start_queued_jobs() -> list[str]:
    return jobs.start_queued_jobs()


@shared_task(name="backfill.tasks.recover_jobs")
def recover_jobs() -> list[str]:
    return jobs.recover_jobs()


@shared_task(name="backfill.tasks.cleanup_jobs")
def cleanup_jobs() -> dict[str, int]:
    return jobs.cleanup_jobs()


@worker_ready.connect
def recover_on_worker_start(**kwargs) -> None:
    """A worker that starts resumes stale jobs (a crash may have left some behind)."""
    recover_jobs.delay()


@shared_task(name="backfill.tasks.fill_yesterday")
def fill_yesterday() -> str | None:
    # Closing dates first, so that month ends that waited are collected in the same run.
    collection.discover_recent_closings()
    job = jobs.fill_gap(days_back=1)
    return str(job.pk) if job else None
