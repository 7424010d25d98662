"""Follow-up analytics: a data-collection job that ends queues an analytics-generation job over
the dates it stored, so the time series and rankings never lag the snapshots."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError

from ..models import BackfillJob, JobPriority, JobType, UnitStatus
from . import jobs, planning
from .planning.request import BackfillRequest

log = logging.getLogger(__name__)


def queue_follow_up_analytics(*, job: BackfillJob) -> BackfillJob | None:
    """Queue an analytics-generation job over the dates `job` stored, so the time series and
    rankings never lag the snapshots. For a data-collection job that has ended (any outcome)
    with units that succeeded since its last follow-up (a retried job updates only what its
    retry stored), unless its request said `updateAnalytics: false` or
    BACKFILL_FOLLOW_UP_ANALYTICS is off. Its scope is the collection's: the targeted or
    configured districts, else every district stored on those dates. Runs in the transaction
    that finishes `job`, so the follow-up exists exactly when the job has ended. Returns the
    follow-up, or None."""
    if (
        job.job_type != JobType.DATA_COLLECTION
        or not settings.BACKFILL_FOLLOW_UP_ANALYTICS
        or not job.request.get("updateAnalytics", True)
    ):
        return None
    stored = job.units.filter(status=UnitStatus.SUCCEEDED)
    previous = job.follow_ups.order_by("-created_at").values_list("created_at", flat=True).first()
    if previous is not None:
        stored = stored.filter(finished_at__gt=previous)
    days = sorted(set(stored.values_list("logical_date", flat=True)))
    if not days:
        return None
    request = BackfillRequest(
        start_date=days[0],
        end_date=days[-1],
        job_type=JobType.ANALYTICS_GENERATION,
        target_districts=tuple(job.scope.get("targetDistricts") or ()),
        concurrency=job.concurrency,
        # The daily refresh's analytics are as urgent as its data.
        priority=JobPriority(job.priority).label,
    )
    try:
        if not any(u.status == UnitStatus.PENDING for u in planning.plan(request).units()):
            log.info("job %s: no follow-up analytics: no district file to read", job.pk)
            return None
        follow_up = jobs.create_job(
            request=request,
            created_via=job.created_via,
            created_by=job.created_by,
            follow_up_of=job,
            run_kind=job.run_kind,
        )
    except ValidationError as exc:
        # Nothing stored in the range any more (deleted since): nothing to update.
        log.warning("job %s: no follow-up analytics: %s", job.pk, exc.messages)
        return None
    log.info("job %s: follow-up analytics job %s queued", job.pk, follow_up.pk)
    return follow_up
