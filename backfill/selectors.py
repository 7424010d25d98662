"""Reads of jobs and their progress (plain data, camelCase-ready)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Sum
from django.utils import timezone

from districts.ids import district_sort_key
from snapshots import store
from snapshots.models import Snapshot, SnapshotStatus

from .limits import performance_status
from .models import (
    ACTIVE_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    JobStatus,
    RateLimitConfig,
    UnitCount,
    UnitStatus,
)
from .services.errors import JobNotFound


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


@dataclass(frozen=True)
class JobProgress:
    total: int
    succeeded: int
    skipped: int
    unavailable: int
    failed: int
    cancelled: int
    running: int
    pending: int
    percent: float
    eta_seconds: float | None
    districts: tuple[DistrictProgress, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_progress(*, job: BackfillJob, per_district: bool = True) -> JobProgress:
    """Progress from the job's counters plus one grouped query over its units.

    Counters are kept in step with the units by the services, so totals never scan units; the
    per-district breakdown is one index-only GROUP BY.
    """
    finished = (
        job.succeeded_units
        + job.skipped_units
        + job.unavailable_units
        + job.failed_units
        + job.cancelled_units
    )
    running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).count()
    pending = max(job.total_units - finished - running, 0)
    districts: tuple[DistrictProgress, ...] = ()
    if per_district:
        districts = _district_progress(job)
    percent = round(100.0 * finished / job.total_units, 1) if job.total_units else 100.0
    return JobProgress(
        total=job.total_units,
        succeeded=job.succeeded_units,
        skipped=job.skipped_units,
        unavailable=job.unavailable_units,
        failed=job.failed_units,
        cancelled=job.cancelled_units,
        running=running,
        pending=pending,
        percent=percent,
        eta_seconds=_eta(job, finished),
        districts=districts,
    )


def _district_progress(job: BackfillJob) -> tuple[DistrictProgress, ...]:
    """The per-district breakdown. On PostgreSQL it reads the trigger-kept `UnitCount` rows (a
    few hundred rows whatever the job's size: the status endpoint is polled); elsewhere it
    counts the units."""
    if connection.vendor == "postgresql":
        rows = (
            UnitCount.objects.filter(job=job)
            .exclude(count=0)
            .values_list("district_id", "status", "count")
        )
        return _district_rows(rows)
    return _count_district_progress(job)


def _count_district_progress(job: BackfillJob) -> tuple[DistrictProgress, ...]:
    return _district_rows(
        BackfillUnit.objects.filter(job=job)
        .values_list("district_id", "status")
        .annotate(n=Count("*"))
        .order_by()
    )


def _district_rows(rows) -> tuple[DistrictProgress, ...]:
    counts: dict[str, dict[str, int]] = {}
    for district_id, status, n in rows:
        counts.setdefault(district_id, {})[status] = n
    # A unit status this module does not know yet counts in the total only.
    known = {f.name for f in fields(DistrictProgress)} - {"district_id", "total"}
    return tuple(
        DistrictProgress(
            district_id=district_id,
            total=sum(by_status.values()),
            **{s: by_status.get(s, 0) for s in known},
        )
        for district_id, by_status in sorted(counts.items(), key=lambda i: district_sort_key(i[0]))
    )


def _eta(job: BackfillJob, finished: int) -> float | None:
    """Seconds left at the pace of the units that actually ran (skips are instant)."""
    if job.started_at is None or job.is_terminal:
        return None
    # Units planned unavailable (closing periods) never started: they are not work done.
    ran_unavailable = BackfillUnit.objects.filter(
        job=job, status=UnitStatus.UNAVAILABLE, started_at__isnull=False
    ).count()
    ran = job.succeeded_units + job.failed_units + ran_unavailable
    left = job.total_units - finished
    if ran == 0 or left == 0:
        return None
    elapsed = (timezone.now() - job.started_at).total_seconds()
    return round(elapsed / ran * left, 1)


def list_jobs(
    *,
    status: str | None = None,
    job_type: str | None = None,
    created_via: str | None = None,
    limit: int = 20,
    offset: int = 0,
):
    """Jobs newest first, filtered; a slice of `limit` from `offset`."""
    return _jobs(status=status, job_type=job_type, created_via=created_via)[offset : offset + limit]


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
class JobSummary:
    """A job in a list: identity, dates, outcome and counters, no per-unit query."""

    job_id: str
    job_type: str
    status: str
    created_via: str
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    start_date: date
    end_date: date
    collection_strategy: str
    total: int
    succeeded: int
    skipped: int
    unavailable: int
    failed: int
    cancelled: int
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
    return [_summary(job) for job in page], jobs.count()


def _summary(job: BackfillJob) -> JobSummary:
    finished = (
        job.succeeded_units
        + job.skipped_units
        + job.unavailable_units
        + job.failed_units
        + job.cancelled_units
    )
    return JobSummary(
        job_id=str(job.pk),
        job_type=job.job_type,
        status=job.status,
        created_via=job.created_via,
        created_by=job.created_by.get_username() if job.created_by else None,
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


def get_job(*, job_id: object) -> BackfillJob:
    """The job with this id. Raises JobNotFound (also for an id that is not a UUID)."""
    try:
        return BackfillJob.objects.select_related("created_by").get(pk=uuid.UUID(str(job_id)))
    except (ValueError, BackfillJob.DoesNotExist):
        raise JobNotFound(job_id=job_id) from None


@dataclass(frozen=True)
class QueueState:
    """Why a job that is not running waits: its place among queued jobs (1 = next), the active
    jobs ahead of it and a sentence for people."""

    position: int | None
    waiting_behind: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class PartialSnapshot:
    """A snapshot this job wrote with district errors (the seeds' PartialSnapshotResult)."""

    snapshot_id: str
    status: str
    successful_districts: int
    failed_districts: int

    @property
    def total_districts(self) -> int:
        return self.successful_districts + self.failed_districts

    @property
    def success_rate(self) -> float:
        total = self.total_districts
        return round(self.successful_districts / total, 4) if total else 0.0


@dataclass(frozen=True)
class JobDetail:
    """Everything the status endpoint publishes about one job."""

    summary: JobSummary
    request: dict[str, Any]
    scope: dict[str, Any]
    strategy_rationale: str
    estimated_efficiency: float
    heartbeat_at: datetime | None
    progress: JobProgress
    current_date: date | None
    estimated_completion_at: datetime | None
    error_summary: dict[str, Any]
    snapshot_ids: tuple[str, ...]
    partial_snapshots: tuple[PartialSnapshot, ...]
    performance: dict[str, Any]
    queue: QueueState | None


def job_detail(*, job_id: object, per_district: bool = True) -> JobDetail:
    """The full status of a job: a handful of indexed queries whatever its size (the status
    endpoint is polled). Raises JobNotFound."""
    job = get_job(job_id=job_id)
    progress = job_progress(job=job, per_district=per_district)
    eta = progress.eta_seconds
    snapshots = list(
        Snapshot.objects.filter(job_id=job.pk)
        .order_by("logical_date")
        .values_list("logical_date", "status", "district_count", "error_count")
    )
    partial = tuple(
        PartialSnapshot(day.isoformat(), status, districts, errors)
        for day, status, districts, errors in snapshots
        if status != SnapshotStatus.COMPLETED
    )
    return JobDetail(
        summary=_summary(job),
        request=job.request,
        scope=job.scope,
        strategy_rationale=job.strategy_rationale,
        estimated_efficiency=job.estimated_efficiency,
        heartbeat_at=job.heartbeat_at,
        progress=progress,
        current_date=_current_date(job),
        estimated_completion_at=timezone.now() + timedelta(seconds=eta) if eta else None,
        error_summary=job_error_summary(job=job, partial_snapshots=len(partial)),
        snapshot_ids=tuple(day.isoformat() for day, *_ in snapshots),
        partial_snapshots=partial,
        performance=dashboard_performance(),
        queue=queue_state(job=job),
    )


def _current_date(job: BackfillJob) -> date | None:
    """The earliest date with a unit in flight, else the next date to dispatch (None when the
    job has neither)."""
    if job.is_terminal:
        return None
    for status in (UnitStatus.RUNNING, UnitStatus.PENDING):
        day = (
            BackfillUnit.objects.filter(job=job, status=status)
            .order_by("logical_date")
            .values_list("logical_date", flat=True)
            .first()
        )
        if day is not None:
            return day
    return None


def job_error_summary(*, job: BackfillJob, partial_snapshots: int | None = None) -> dict[str, Any]:
    """Failed units of the job: totals, retryable vs permanent, by error type, the districts
    they touch, and how many of the job's snapshots are partial or failed (counted unless the
    caller read them already). One grouped query over the failed units (index on job and
    status)."""
    rows = (
        BackfillUnit.objects.filter(job=job, status=UnitStatus.FAILED)
        .values_list("error_type", "retryable", "district_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_type: dict[str, int] = {}
    retryable = 0
    districts: set[str] = set()
    for error_type, is_retryable, district_id, n in rows:
        by_type[error_type] = by_type.get(error_type, 0) + n
        retryable += n if is_retryable else 0
        districts.add(district_id)
    total = sum(by_type.values())
    return {
        "totalErrors": total,
        "retryableErrors": retryable,
        "permanentErrors": total - retryable,
        "byType": dict(sorted(by_type.items())),
        "affectedDistricts": sorted(districts, key=district_sort_key),
        "partialSnapshots": partial_snapshots
        if partial_snapshots is not None
        else Snapshot.objects.filter(job_id=job.pk)
        .exclude(status=SnapshotStatus.COMPLETED)
        .count(),
    }


def queue_state(*, job: BackfillJob) -> QueueState | None:
    """Why the job waits (queued or paused); None when it runs or has ended."""
    if job.status == JobStatus.PAUSED:
        return QueueState(
            position=None,
            waiting_behind=(),
            reason="Paused by an operator: no unit starts until it is resumed; it then "
            "continues from its checkpoint.",
        )
    if job.status != JobStatus.PENDING:
        return None
    active = tuple(
        str(pk)
        for pk in BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES)
        .order_by("started_at")
        .values_list("pk", flat=True)
    )
    ahead = BackfillJob.objects.filter(
        status=JobStatus.PENDING, created_at__lt=job.created_at
    ).count()
    limit = settings.BACKFILL_MAX_ACTIVE_JOBS
    if len(active) >= limit:
        reason = (
            f"Waiting in the queue behind {len(active)} running job(s) (at most {limit} run at "
            f"a time) and {ahead} queued job(s) ahead of it."
        )
    elif ahead:
        reason = f"Waiting in the queue behind {ahead} queued job(s) that start first."
    else:
        reason = "Next in the queue: it starts as soon as a worker picks it up."
    return QueueState(position=ahead + 1, waiting_behind=active, reason=reason)


@dataclass(frozen=True)
class DistrictDates:
    """One district's dates in a job, for the legacy `districtProgress`."""

    district_id: str
    dates_total: int
    dates_processed: int
    successful_dates: tuple[str, ...]
    failed_dates: tuple[str, ...]
    retry_count: int
    last_error: str | None
    running: bool


def district_dates(*, job_id: object) -> tuple[DistrictDates, ...]:
    """Per district: its dates by outcome, retries beyond the first attempt and the last error.
    One pass over the job's units (the legacy routes only; the job API uses counts)."""
    job = get_job(job_id=job_id)
    rows = (
        BackfillUnit.objects.filter(job=job)
        .order_by("logical_date")
        .values_list("district_id", "logical_date", "status", "attempts", "error_message")
    )
    acc: dict[str, dict[str, Any]] = {}
    for district_id, day, status, attempts, message in rows.iterator(chunk_size=5000):
        entry = acc.setdefault(
            district_id,
            {"total": 0, "done": 0, "ok": [], "failed": [], "retries": 0, "error": None, "run": 0},
        )
        entry["total"] += 1
        entry["retries"] += max(attempts - 1, 0)
        if status not in (UnitStatus.PENDING, UnitStatus.RUNNING):
            entry["done"] += 1
        entry["run"] += status == UnitStatus.RUNNING
        if status == UnitStatus.SUCCEEDED:
            entry["ok"].append(day.isoformat())
        elif status == UnitStatus.FAILED:
            entry["failed"].append(day.isoformat())
            entry["error"] = message or entry["error"]
    return tuple(
        DistrictDates(
            district_id=district_id,
            dates_total=e["total"],
            dates_processed=e["done"],
            successful_dates=tuple(e["ok"]),
            failed_dates=tuple(e["failed"]),
            retry_count=e["retries"],
            last_error=e["error"],
            running=bool(e["run"]),
        )
        for district_id, e in sorted(acc.items(), key=lambda i: district_sort_key(i[0]))
    )


def partial_snapshot_districts(*, snapshot_id: str) -> tuple[list[str], list[str]]:
    """(successful, failed) district ids of a stored snapshot, from its manifest."""
    manifest = store.read_manifest(logical_date=date.fromisoformat(snapshot_id)) or {}
    failed = sorted(
        {e.get("districtId", "") for e in manifest.get("errors", [])}, key=district_sort_key
    )
    ok = sorted(manifest.get("detailLevels", {}), key=district_sort_key)
    return ok, failed


def rate_limit_config() -> RateLimitConfig:
    """The one rate-limit configuration row."""
    return RateLimitConfig.load()


def dashboard_performance() -> dict[str, Any]:
    """The limits' performance status with the engine's concurrency: units in flight and units
    still queued across active jobs. Queued units come from the jobs' counters (kept equal to
    the units by the services), so this never scans a job's units: it is on the polled path."""
    active = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES)
    totals = active.aggregate(
        total=Sum("total_units"),
        finished=Sum(
            F("succeeded_units")
            + F("skipped_units")
            + F("unavailable_units")
            + F("failed_units")
            + F("cancelled_units")
        ),
    )
    running = BackfillUnit.objects.filter(
        job__in=active.values("pk"), status=UnitStatus.RUNNING
    ).count()
    queued = (totals["total"] or 0) - (totals["finished"] or 0) - running
    return performance_status(active_units=running, queued_units=max(queued, 0))
