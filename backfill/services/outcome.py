"""A job's end: once it has no unit pending or running and no snapshot assembly left, it gets its
final status (completed, partial success, failed, cancelled) and its error summary, queues its
follow-up (`follow_up`: analytics after a collection, a publish after what stored something)
and lets the next queued job start."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from ..models import BackfillJob, JobStatus
from ..selectors.jobs import job_error_summary
from . import broker, follow_up, site_units

log = logging.getLogger(__name__)


def assemblies_hold(job: BackfillJob, *, store_down: bool) -> bool:
    """Does the job wait for its dates' snapshot assemblies before it may finish? Always, but
    for a job being cancelled while the store cannot take writes: it ends `cancelled` and its
    assemblies stay queued, done once the store takes writes again."""
    if store_down and job.status == JobStatus.CANCELLING:
        return False
    return job.assemblies.exists()


def finish_job(job: BackfillJob) -> None:
    """Give a job with no pending or running unit its final status; start the next job. Call under
    the job's lock (`locks`).

    A job is `completed` only when no unit failed and none was cancelled (and, for a publish
    job, its indexes were written without error): a retried cancelled job whose cancelled units
    never ran ends `partial_success`."""
    job.refresh_from_db()
    if job.is_terminal:
        return
    if job.status == JobStatus.CANCELLING:
        job.status = JobStatus.CANCELLED
    elif job.failed_units == 0 and job.cancelled_units == 0 and not site_units.indexes_failed(job):
        job.status = JobStatus.COMPLETED
    elif job.succeeded_units + job.skipped_units + job.unavailable_units + job.waiting_units > 0:
        job.status = JobStatus.PARTIAL_SUCCESS
    else:
        job.status = JobStatus.FAILED
    job.finished_at = timezone.now()
    job.error_summary = job_error_summary(job=job)
    job.save(update_fields=["status", "finished_at", "error_summary"])
    log.info("job %s finished: %s", job.pk, job.status)
    if follow_up.queue_follow_up_analytics(job=job) is None:
        # A collection whose analytics follow up is published after them (their end).
        follow_up.queue_follow_up_publish(job=job)
    transaction.on_commit(lambda: broker.send(broker.START_JOBS_TASK))
