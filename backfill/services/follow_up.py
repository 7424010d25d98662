"""Follow-ups: a data-collection job that ends queues an analytics-generation job over the dates
it stored, so the time series and rankings never lag the snapshots; and what stored something
(a collection without follow-up analytics, or the analytics job) queues a publish job, so the
district-statistics site never lags them either (PUBLISH_AFTER_COLLECTION)."""

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
    days = _stored_since_follow_up(job, JobType.ANALYTICS_GENERATION)
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
    except ValidationError as exc:
        # Nothing stored in the range any more (deleted since): nothing to update.
        log.warning("job %s: no follow-up analytics: %s", job.pk, exc.messages)
        return None
    return _create_follow_up(job, request, "analytics")


def queue_follow_up_publish(*, job: BackfillJob) -> BackfillJob | None:
    """Queue a publish job to PUBLISH_DESTINATION over the dates `job` stored (a
    data-collection job) or generated analytics of (an analytics-generation job), so the site
    shows them. Only when PUBLISH_AFTER_COLLECTION is on and a destination is set, and for
    units that succeeded since the job's last publish follow-up. The publish itself writes only
    what changed. Runs in the transaction that finishes `job`. Returns the follow-up, or
    None."""
    if (
        job.job_type not in (JobType.DATA_COLLECTION, JobType.ANALYTICS_GENERATION)
        or not settings.PUBLISH_AFTER_COLLECTION
        or not settings.PUBLISH_DESTINATION
    ):
        return None
    days = _stored_since_follow_up(job, JobType.PUBLISH)
    if not days:
        return None
    # An analytics job's time series reach over its whole range, not only its units' dates.
    first, last = (
        (job.start_date, job.end_date)
        if job.job_type == JobType.ANALYTICS_GENERATION
        else (days[0], days[-1])
    )
    request = BackfillRequest(
        start_date=first,
        end_date=last,
        job_type=JobType.PUBLISH,
        destination=settings.PUBLISH_DESTINATION,
        concurrency=job.concurrency,
        priority=JobPriority(job.priority).label,
    )
    return _create_follow_up(job, request, "publish")


def _create_follow_up(job: BackfillJob, request: BackfillRequest, what: str) -> BackfillJob | None:
    """Create the follow-up `what` job of `job` (same origin, creator and run kind), or log why
    the request is refused (nothing left in its range) and return None."""
    try:
        follow_up = jobs.create_job(
            request=request,
            created_via=job.created_via,
            created_by=job.created_by,
            follow_up_of=job,
            run_kind=job.run_kind,
        )
    except ValidationError as exc:
        log.warning("job %s: no follow-up %s: %s", job.pk, what, exc.messages)
        return None
    log.info("job %s: follow-up %s job %s queued", job.pk, what, follow_up.pk)
    return follow_up


def _stored_since_follow_up(job: BackfillJob, follow_up_type: str) -> list:
    """The dates of `job`'s units that succeeded since its last follow-up of `follow_up_type`
    (a retried job follows up only what its retry stored), oldest first."""
    stored = job.units.filter(status=UnitStatus.SUCCEEDED)
    previous = (
        job.follow_ups.filter(job_type=follow_up_type)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if previous is not None:
        stored = stored.filter(finished_at__gt=previous)
    return sorted(set(stored.values_list("logical_date", flat=True)))
