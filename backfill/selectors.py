"""Reads of jobs and their progress (plain data, camelCase-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from .limits import performance_status
from .models import ACTIVE_JOB_STATUSES, BackfillJob, BackfillUnit, UnitStatus


@dataclass(frozen=True)
class DistrictProgress:
    district_id: str
    total: int
    succeeded: int
    skipped: int
    unavailable: int
    failed: int
    cancelled: int
    pending: int
    running: int
    waiting: int = 0


@dataclass(frozen=True)
class JobProgress:
    total: int
    completed: int
    skipped: int
    unavailable: int
    failed: int
    cancelled: int
    running: int
    pending: int
    percent: float
    eta_seconds: float | None
    districts: tuple[DistrictProgress, ...] = field(default=())
    waiting: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_progress(*, job: BackfillJob, per_district: bool = True) -> JobProgress:
    """Progress from the job's counters plus one grouped query over its units.

    Counters are kept in step with the units by the services, so totals never scan units; the
    per-district breakdown is one index-only GROUP BY.
    """
    finished = (
        job.completed_units
        + job.skipped_units
        + job.unavailable_units
        + job.failed_units
        + job.cancelled_units
        + job.waiting_units
    )
    running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).count()
    pending = max(job.total_units - finished - running, 0)
    districts: tuple[DistrictProgress, ...] = ()
    if per_district:
        districts = _district_progress(job)
    percent = round(100.0 * finished / job.total_units, 1) if job.total_units else 100.0
    return JobProgress(
        total=job.total_units,
        completed=job.completed_units,
        skipped=job.skipped_units,
        unavailable=job.unavailable_units,
        failed=job.failed_units,
        cancelled=job.cancelled_units,
        running=running,
        pending=pending,
        percent=percent,
        eta_seconds=_eta(job, finished),
        districts=districts,
        waiting=job.waiting_units,
    )


def _district_progress(job: BackfillJob) -> tuple[DistrictProgress, ...]:
    rows = (
        BackfillUnit.objects.filter(job=job)
        .values_list("district_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for district_id, status, n in rows:
        counts.setdefault(district_id, {})[status] = n
    return tuple(
        DistrictProgress(
            district_id=district_id or "all",
            total=sum(by_status.values()),
            **{s: by_status.get(s, 0) for s in UnitStatus.values},
        )
        for district_id, by_status in sorted(counts.items())
    )


def _eta(job: BackfillJob, finished: int) -> float | None:
    """Seconds left at the pace of the units that actually ran (skips are instant)."""
    if job.started_at is None or job.is_terminal:
        return None
    # Units planned unavailable (closing periods) never started: they are not work done.
    ran_unavailable = BackfillUnit.objects.filter(
        job=job, status=UnitStatus.UNAVAILABLE, started_at__isnull=False
    ).count()
    ran = job.completed_units + job.failed_units + ran_unavailable
    left = job.total_units - finished
    if ran == 0 or left == 0:
        return None
    elapsed = (timezone.now() - job.started_at).total_seconds()
    return round(elapsed / ran * left, 1)


def list_jobs(*, status: str | None = None, limit: int = 20, offset: int = 0):
    jobs = BackfillJob.objects.all()
    if status:
        jobs = jobs.filter(status=status)
    return jobs.order_by("-created_at")[offset : offset + limit]


def dashboard_performance() -> dict[str, Any]:
    """The limits' performance status with the engine's concurrency: units in flight and units
    still queued across active jobs."""
    units = BackfillUnit.objects.filter(job__status__in=ACTIVE_JOB_STATUSES)
    counts = dict(
        units.filter(status__in=(UnitStatus.RUNNING, UnitStatus.PENDING))
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return performance_status(
        active_units=counts.get(UnitStatus.RUNNING, 0),
        queued_units=counts.get(UnitStatus.PENDING, 0),
    )
