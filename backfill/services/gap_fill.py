"""Beat's daily gap fill: yesterday's data, and the month ends that waited for their closing."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from districts.dashboard.closing import closing_date_for

from ..models import (
    ACTIVE_JOB_STATUSES,
    BackfillJob,
    CreatedVia,
    JobPriority,
    JobStatus,
    JobType,
    RunKind,
    UnitStatus,
)
from . import planning
from .jobs import create_job
from .planning.month_ends import recent_month_ends
from .planning.request import BackfillRequest

log = logging.getLogger(__name__)


def fill_gap(*, days_back: int = 1) -> BackfillJob | None:
    """Beat's daily job: collect the configured scope for `days_back` days ago (already stored
    data is skipped), as a `daily-refresh` job with the `daily` priority, served before any
    backfill. Returns None, logging why, when there is nothing valid to collect.

    One job per date (and per day for a month end) whoever calls it how often: a second call
    returns the job of the first (`_create_once`).

    It also queues a job for each recent month end (`recent_month_ends`) that is not
    stored yet and whose month's closing date is now known and past: the month ends that
    waited while their month was closing (`closing_dates.discover_recent_closings` finds the
    closing dates; the beat task runs it first)."""
    today = timezone.localdate()
    day = today - timedelta(days=days_back)
    if days_back < 1:
        # Beat builds this request itself (no entry point's contract runs): today's data and
        # the future are not published yet.
        log.warning("gap fill for %s not started: the date is not in the past", day)
        return None
    for month_end in recent_month_ends(today=today):
        closing = closing_date_for(month_end)
        if month_end == day or closing is None or closing >= today:
            continue
        queued = BackfillJob.objects.filter(
            job_type=JobType.DATA_COLLECTION,
            status__in=(JobStatus.PENDING, JobStatus.PAUSED, *ACTIVE_JOB_STATUSES),
            start_date__lte=month_end,
            end_date__gte=month_end,
        )
        if queued.exists():
            continue
        request = BackfillRequest(
            start_date=month_end, end_date=month_end, priority=JobPriority.DAILY.label
        )
        try:
            plan = planning.plan(request)
        except ValidationError as exc:
            log.warning("month end %s not collected: %s", month_end, exc.messages)
            continue
        if any(unit.status == UnitStatus.PENDING for unit in plan.units()):
            # Once a day at most: a month end not stored yet is tried again the next day.
            job = _create_once(request=request, schedule_key=f"month-end:{month_end}:{today}")
            log.info(
                "gap fill: month end %s (closed %s) queued as job %s", month_end, closing, job.pk
            )
    try:
        return _create_once(
            request=BackfillRequest(start_date=day, end_date=day, priority=JobPriority.DAILY.label),
            schedule_key=f"daily-refresh:{day}",
        )
    except ValidationError as exc:
        log.warning("gap fill for %s not started: %s", day, exc.messages)
        return None


def _create_once(*, request: BackfillRequest, schedule_key: str) -> BackfillJob:
    """The daily-refresh job `schedule_key` names: created by the first caller, found by every
    other (beat firing twice, two beats, an operator running the task by hand). The job's unique
    `schedule_key` decides, so two callers at the same moment still make one job. Raises
    ValidationError like `create_job`."""
    existing = BackfillJob.objects.filter(schedule_key=schedule_key).first()
    if existing is None:
        try:
            return create_job(
                request=request,
                created_via=CreatedVia.BEAT,
                run_kind=RunKind.DAILY_REFRESH,
                schedule_key=schedule_key,
            )
        except IntegrityError:
            existing = BackfillJob.objects.filter(schedule_key=schedule_key).first()
            if existing is None:
                raise
    log.info("gap fill: %s is already job %s; nothing queued", schedule_key, existing.pk)
    return existing
