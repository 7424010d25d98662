"""Housekeeping: finished jobs and task results past their retention are deleted."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_celery_results.models import TaskResult

from ..models import TERMINAL_JOB_STATUSES, BackfillJob, BackfillUnit
from .idempotency import forget_expired_keys

log = logging.getLogger(__name__)


def cleanup_jobs(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Delete finished jobs (with their units) and task results older than `older_than`
    (default BACKFILL_JOB_RETENTION_DAYS), and idempotency keys past their 24 hours. Snapshots
    are kept."""
    if older_than is None:
        older_than = timedelta(days=settings.BACKFILL_JOB_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    old = BackfillJob.objects.filter(status__in=TERMINAL_JOB_STATUSES, finished_at__lt=cutoff)
    jobs = old.count()
    units = BackfillUnit.objects.filter(job__in=old).delete()[0]
    old.delete()
    results = TaskResult.objects.filter(date_done__lt=cutoff).delete()[0]
    keys = forget_expired_keys()
    log.info(
        "cleanup: %s jobs, %s units, %s task results, %s idempotency keys deleted",
        jobs,
        units,
        results,
        keys,
    )
    return {"jobs": jobs, "units": units, "taskResults": results, "idempotencyKeys": keys}
