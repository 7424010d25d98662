"""The job list (the API's history, `backfill_jobs`): one summary per job from its row alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..models import (
    BackfillJob,
)


def _jobs(*, status: str | None, job_type: str | None, created_via: str | None):
    jobs = BackfillJob.objects.all()
    if status:
        jobs = jobs.filter(status=status)
    if job_type:
        jobs = jobs.filter(job_type=job_type)
    if created_via:
        jobs = jobs.filter(created_via=created_via)
    return jobs.order_by("-created_at")


@dataclass(frozen=True)
class UnitTally:
    """How many units of a job (or of one district of it) there are, and how many ended how."""

    total: int
    succeeded: int
    skipped: int
    unavailable: int
    failed: int
    cancelled: int


@dataclass(frozen=True)
class JobSummary(UnitTally):
    """A job in a list: identity, dates, outcome and counters, no per-unit query."""

    job_id: str
    job_type: str
    status: str
    created_via: str
    created_by: str | None
    priority: str  # a JobPriority label
    run_kind: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    start_date: date
    end_date: date
    collection_strategy: str
    percent: float


def job_history(
    *,
    status: str | None = None,
    job_type: str | None = None,
    created_via: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[JobSummary], int]:
    """One page of jobs (newest first) and the count of all jobs that match the filters."""
    jobs = _jobs(status=status, job_type=job_type, created_via=created_via)
    page = jobs.select_related("created_by")[offset : offset + limit]
    return [job_summary(job) for job in page], jobs.count()


def job_summary(job: BackfillJob) -> JobSummary:
    finished = job.finished_units
    return JobSummary(
        job_id=str(job.pk),
        job_type=job.job_type,
        status=job.status,
        created_via=job.created_via,
        created_by=job.created_by.get_username() if job.created_by else None,
        priority=job.priority_label,
        run_kind=job.run_kind,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        start_date=job.start_date,
        end_date=job.end_date,
        collection_strategy=job.collection_strategy,
        total=job.total_units,
        succeeded=job.succeeded_units,
        skipped=job.skipped_units,
        unavailable=job.unavailable_units,
        failed=job.failed_units,
        cancelled=job.cancelled_units,
        percent=round(100.0 * finished / job.total_units, 1) if job.total_units else 100.0,
    )
