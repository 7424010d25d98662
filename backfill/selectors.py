"""Reads of jobs and their progress (plain data, camelCase-ready)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from districts.ids import district_sort_key
from snapshots import store
from snapshots.models import Snapshot, SnapshotStatus

from .limits import performance_status
from .models import (
    ACTIVE_JOB_STATUSES,
    JOB_DISPATCH_ORDER,
    TERMINAL_JOB_STATUSES,
    AuditOutcome,
    BackfillJob,
    BackfillUnit,
    JobPriority,
    JobStatus,
    RateLimitConfig,
    SnapshotAssembly,
    SnapshotAudit,
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
    waiting: int = 0


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
    waiting: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_progress(*, job: BackfillJob, per_district: bool = True) -> JobProgress:
    """Progress from the job's counters plus one grouped query over its units.

    Counters are kept in step with the units by the services, so totals never scan units; the
    per-district breakdown is one index-only GROUP BY.
    """
    finished = job.finished_units
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
        waiting=job.waiting_units,
    )


def _district_progress(job: BackfillJob) -> tuple[DistrictProgress, ...]:
    """The per-district breakdown. On PostgreSQL it reads the trigger-kept `UnitCount` rows (a
    few hundred rows whatever the job's size: the status endpoint is polled); elsewhere it
    counts the units."""
    return _district_rows(_district_count_rows(job))


def _district_count_rows(job: BackfillJob) -> tuple[tuple[str, str, int], ...]:
    """(district id, unit status, count) of the job's units, in a fixed order."""
    if connection.vendor == "postgresql":
        rows = UnitCount.objects.filter(job=job).exclude(count=0)
    else:
        rows = BackfillUnit.objects.filter(job=job).values("district_id", "status")
        rows = rows.annotate(count=Count("*"))
    return tuple(
        rows.order_by("district_id", "status").values_list("district_id", "status", "count")
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
    priority: str  # a JobPriority label
    run_kind: str
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
    why_not_running: str | None
    # The data-collection job this analytics-generation job follows up, and the follow-ups
    # (analytics-generation jobs) a data-collection job queued, oldest first.
    follow_up_of: str | None = None
    follow_ups: tuple[str, ...] = ()
    # The snapshot store's condition (`StoreCondition.as_dict`) while it cannot take writes.
    store_condition: dict[str, Any] | None = None


def job_detail(
    *, job: BackfillJob, per_district: bool = True, performance: dict[str, Any] | None = None
) -> JobDetail:
    """The full status of a job: a handful of indexed queries whatever its size (the status
    endpoint is polled). `performance` is `dashboard_performance()` when the caller has it."""
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
    performance = performance if performance is not None else dashboard_performance()
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
        performance=performance,
        queue=queue_state(job=job),
        why_not_running=why_not_running(job=job, performance=performance),
        follow_up_of=str(job.follow_up_of_id) if job.follow_up_of_id else None,
        follow_ups=tuple(
            str(pk) for pk in job.follow_ups.order_by("created_at").values_list("pk", flat=True)
        ),
        store_condition=_store_condition_dict(),
    )


# Values of the limits' state that follow the clock alone (countdowns recomputed at each read):
# not part of a job's version, so that an unchanged job keeps its version while they tick.
PERFORMANCE_CLOCK_FIELDS = {
    "rateLimiter": ("nextResetMs", "cooldownRemainingMs", "backoffMs"),
    "circuitBreaker": ("probeInMs",),
}


@dataclass(frozen=True)
class JobVersion:
    """What a job's status shows, read cheaply (the job row, its per-district unit counts, a
    few counts of related rows, the limits' state): equal versions mean equal status bodies
    but for the values that follow the clock alone. The status routes digest it into their
    ETag before building any body, and the legacy status keys its per-district dates by it."""

    job: BackfillJob
    units: tuple[Any, ...]  # what changes whenever a unit changes in a way any status shows
    others: tuple[Any, ...]  # snapshots, follow-ups, assemblies, queue, store, why not running
    performance: dict[str, Any]  # dashboard_performance(), reused by the body

    def digest(self, *parts: object) -> str:
        """A weak ETag of this version for one representation (`parts` name it)."""
        limits = {
            key: {k: v for k, v in value.items() if k not in PERFORMANCE_CLOCK_FIELDS.get(key, ())}
            if isinstance(value, dict)
            else value
            for key, value in self.performance.items()
        }
        text = json.dumps(
            [parts, str(self.job.pk), self.units, self.others, limits],
            separators=(",", ":"),
            default=str,
        )
        return f'W/"{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"'


def _count(rows, by: str = "job_id") -> Subquery:
    return Subquery(rows.order_by().values(by).annotate(n=Count("*")).values("n")[:1])


def job_version(*, job_id: object) -> JobVersion:
    """The job (one query, with the counts of its related rows) and its version. Raises
    JobNotFound. A unit's dates, status and error change only with its status: the trigger-kept
    per-district counts and the job's counters. Its attempts also change when a worker claims
    it (running, +1; the only change without a status change): the sum of the running units'
    attempts."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        raise JobNotFound(job_id=job_id) from None
    job_units = BackfillUnit.objects.filter(job_id=OuterRef("pk"))
    snapshots = Snapshot.objects.filter(job_id=OuterRef("pk"))
    job = (
        BackfillJob.objects.select_related("created_by")
        .annotate(
            v_claimed=Subquery(
                job_units.filter(status=UnitStatus.RUNNING)
                .order_by()
                .values("job_id")
                .annotate(n=Sum("attempts"))
                .values("n")[:1]
            ),
            v_snapshots=_count(snapshots),
            v_partial=_count(snapshots.exclude(status=SnapshotStatus.COMPLETED)),
            v_snapshot_sizes=Subquery(
                snapshots.order_by()
                .values("job_id")
                .annotate(n=Sum(F("district_count") * 100_000 + F("error_count")))
                .values("n")[:1]
            ),
            v_follow_ups=_count(
                BackfillJob.objects.filter(follow_up_of_id=OuterRef("pk")), by="follow_up_of_id"
            ),
            v_assemblies=_count(SnapshotAssembly.objects.filter(job_id=OuterRef("pk"))),
        )
        .filter(pk=pk)
        .first()
    )
    if job is None:
        raise JobNotFound(job_id=job_id)
    units = (
        job.status,
        job.recovery_count,
        job.total_units,
        job.succeeded_units,
        job.skipped_units,
        job.unavailable_units,
        job.failed_units,
        job.cancelled_units,
        job.waiting_units,
        job.v_claimed,
        _district_count_rows(job),
    )
    performance = dashboard_performance()
    queue = queue_state(job=job) if job.status == JobStatus.PENDING else None
    others = (
        job.priority,
        job.started_at,
        job.finished_at,
        job.heartbeat_at,
        job.v_snapshots,
        job.v_partial,
        job.v_snapshot_sizes,
        job.v_follow_ups,
        job.v_assemblies,
        asdict(queue) if queue else None,
        _store_condition_dict(),
        why_not_running(job=job, performance=performance),
    )
    return JobVersion(job=job, units=units, others=others, performance=performance)


def _store_condition_dict() -> dict[str, Any] | None:
    condition = store.store_condition()
    return condition.as_dict() if condition else None


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
    """Why the job waits (queued or paused); None when it runs or has ended. A queued job waits
    for the active jobs of its priority or a higher one (lower ones never hold it back) and for
    the queued jobs that start before it (higher priority, or same priority and older)."""
    if job.status == JobStatus.PAUSED:
        return QueueState(
            position=None,
            waiting_behind=(),
            reason="Paused by an operator: no unit starts until it is resumed; it then "
            "continues from its checkpoint.",
        )
    if job.status != JobStatus.PENDING:
        return None
    blocking = list(
        BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES, priority__gte=job.priority)
        .order_by(*JOB_DISPATCH_ORDER)
        .values_list("pk", "priority")
    )
    queued_ahead = BackfillJob.objects.filter(status=JobStatus.PENDING).filter(
        Q(priority__gt=job.priority) | Q(priority=job.priority, created_at__lt=job.created_at)
    )
    ahead = queued_ahead.count()
    limit = settings.BACKFILL_MAX_ACTIVE_JOBS
    position = ahead + 1
    label = job.priority_label
    if len(blocking) >= limit:
        reason = (
            f"Queued behind {_jobs_named(blocking)} (position {position} in the queue): waiting "
            f"behind {len(blocking)} running job(s) of {label} priority or higher (at most "
            f"{limit} run at a time) and {ahead} queued job(s) ahead of it."
        )
    elif ahead:
        first = queued_ahead.order_by(*JOB_DISPATCH_ORDER).values_list("pk", "priority")[:1]
        reason = (
            f"Queued behind {_jobs_named(list(first))} (position {position} in the queue): "
            f"{ahead} queued job(s) of a higher priority, or older at {label} priority, start "
            "first."
        )
    else:
        reason = (
            f"Queued (position {position} in the queue): next to start, as soon as a worker "
            "picks it up; if it stays here, no worker has started it: are workers running?"
        )
    return QueueState(
        position=position, waiting_behind=tuple(str(pk) for pk, _ in blocking), reason=reason
    )


def _jobs_named(jobs: list[tuple[Any, int]]) -> str:
    """ "daily job <id>, normal job <id>" for (pk, priority) pairs, at most three."""
    named = ", ".join(f"{JobPriority(priority).label} job {pk}" for pk, priority in jobs[:3])
    return named + (f" and {len(jobs) - 3} more" if len(jobs) > 3 else "")


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


def district_dates(*, version: JobVersion) -> tuple[DistrictDates, ...]:
    """Per district: its dates by outcome, retries beyond the first attempt and the last error
    (the legacy `districtProgress`). On PostgreSQL one grouped query returns a row per district
    with its dates already aggregated, kept per process for as long as the job's version of its
    units stays the same (the legacy status is polled); elsewhere it counts in one pass over
    the units."""
    if connection.vendor == "postgresql":
        return _cached_district_dates(version)
    return _counted_district_dates(version.job)


def _counted_district_dates(job: BackfillJob) -> tuple[DistrictDates, ...]:
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


# One row per district: counts, ISO dates by outcome (in date order) and the message of the
# latest failed date that has one. A single scan of the job's units in the database, instead of
# one Python object per unit.
_DISTRICT_DATES_SQL = """
SELECT district_id,
       count(*),
       count(*) FILTER (WHERE status NOT IN (%(pending)s, %(running)s)),
       count(*) FILTER (WHERE status = %(running)s),
       coalesce(sum(greatest(attempts - 1, 0)), 0),
       coalesce(array_agg(to_char(logical_date, 'YYYY-MM-DD') ORDER BY logical_date)
                FILTER (WHERE status = %(succeeded)s), '{}'),
       coalesce(array_agg(to_char(logical_date, 'YYYY-MM-DD') ORDER BY logical_date)
                FILTER (WHERE status = %(failed)s), '{}'),
       (array_agg(error_message ORDER BY logical_date DESC)
                FILTER (WHERE status = %(failed)s AND error_message <> ''))[1]
FROM backfill_backfillunit
WHERE job_id = %(job)s
GROUP BY district_id
"""


# job id -> (units version, its district dates), in this process: pollers of a job whose units
# did not change share one computation instead of each scanning the units.
_DISTRICT_DATES_CACHE: dict[uuid.UUID, tuple[tuple[Any, ...], tuple[DistrictDates, ...]]] = {}
_DISTRICT_DATES_CACHE_SIZE = 16


def _cached_district_dates(version: JobVersion) -> tuple[DistrictDates, ...]:
    job = version.job
    cached = _DISTRICT_DATES_CACHE.get(job.pk)
    if cached is not None and cached[0] == version.units:
        return cached[1]
    dates = _aggregated_district_dates(job)
    _DISTRICT_DATES_CACHE.pop(job.pk, None)
    while len(_DISTRICT_DATES_CACHE) >= _DISTRICT_DATES_CACHE_SIZE:
        _DISTRICT_DATES_CACHE.pop(next(iter(_DISTRICT_DATES_CACHE)), None)
    _DISTRICT_DATES_CACHE[job.pk] = (version.units, dates)
    return dates


def _aggregated_district_dates(job: BackfillJob) -> tuple[DistrictDates, ...]:
    params = {
        "job": job.pk,
        "pending": UnitStatus.PENDING,
        "running": UnitStatus.RUNNING,
        "succeeded": UnitStatus.SUCCEEDED,
        "failed": UnitStatus.FAILED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_DISTRICT_DATES_SQL, params)
        rows = cursor.fetchall()
    return tuple(
        DistrictDates(
            district_id=district_id,
            dates_total=total,
            dates_processed=done,
            successful_dates=tuple(ok),
            failed_dates=tuple(failed),
            retry_count=retries,
            last_error=error,
            running=bool(running),
        )
        for district_id, total, done, running, retries, ok, failed, error in sorted(
            rows, key=lambda row: district_sort_key(row[0])
        )
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


# Units older than this in `running` with no job heartbeat mean no worker is working on them.
NO_WORKER_AFTER_SECONDS = 120


def why_not_running(
    *, job: BackfillJob, now=None, performance: dict[str, Any] | None = None
) -> str | None:
    """One sentence saying why a job that is not finished does not progress right now, from
    the engine's real state (queue, pause, workers, Redis, breaker, 429 cooldown, limiter); None
    when it is progressing or finished. The admin and the API show the same sentence.
    `performance` is `dashboard_performance()` when the caller has it already."""
    if job.is_terminal:
        return None
    now = now or timezone.now()
    queued = queue_state(job=job)
    if queued is not None:
        return queued.reason
    if job.status not in ACTIVE_JOB_STATUSES:
        return f"The job is {job.status}; nothing is dispatched until it is resumed."
    condition = store.store_condition()
    if condition is not None:
        return _store_reason(job, condition)
    running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).exists()
    heartbeat = job.heartbeat_at or job.started_at
    if running and heartbeat and (now - heartbeat).total_seconds() > NO_WORKER_AFTER_SECONDS:
        minutes = int((now - heartbeat).total_seconds() // 60)
        return (
            f"No worker has reported on this job for {minutes} min: are workers running? "
            "Recovery re-dispatches its units once they count as stale."
        )
    limits = performance or dashboard_performance()
    if not limits["redisAvailable"]:
        return "Redis is unreachable: no request may leave (the rate limiter fails closed)."
    breaker = limits["circuitBreaker"]
    if breaker["state"] == "open":
        return (
            f"The circuit breaker is open after {breaker['failures']} failures in a row; the "
            f"next probe request may leave in {breaker['probeInMs'] / 1000:.0f} s."
        )
    limiter = limits["rateLimiter"]
    if limiter["cooldownRemainingMs"]:
        return (
            "The dashboard asked us to slow down (429): every worker waits "
            f"{limiter['cooldownRemainingMs'] / 1000:.0f} s more."
        )
    if not running:
        assemblies = job.assemblies.count()
        pending = BackfillUnit.objects.filter(job=job, status=UnitStatus.PENDING)
        if assemblies and not pending.exists():
            return (
                f"Every unit has ended; the snapshots of {assemblies} date(s) are still being "
                "assembled (an assembly that fails is tried again every 10 s)."
            )
        ahead = list(
            BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES, priority__gt=job.priority)
            .filter(units__status=UnitStatus.RUNNING)
            .distinct()
            .order_by(*JOB_DISPATCH_ORDER)
            .values_list("pk", "priority")
        )
        if ahead:
            return (
                f"Queued behind {_jobs_named(ahead)}: jobs of a higher priority take free slots "
                "first and their dates are not collected twice at once; this job continues "
                "where it was as they leave slots free."
            )
        concurrency = limits["concurrency"]
        if concurrency["active"] >= concurrency["max"]:
            return (
                f"All {concurrency['max']} slots of the global concurrency limit are in use by "
                "other jobs; units start as slots free up."
            )
        return None
    # A normal or low job may use only the part of the window not reserved for priority jobs.
    allowed = limiter["maxRequests"] - (0 if job.is_priority else limiter["reservedForPriority"])
    if limiter["currentCount"] is not None and limiter["currentCount"] >= allowed:
        reserved = (
            f" ({limiter['reservedForPriority']} of its {limiter['maxRequests']} are reserved "
            "for priority jobs)"
            if allowed < limiter["maxRequests"]
            else ""
        )
        return (
            f"Waiting for the rate limiter: {limiter['currentCount']} requests in the last "
            f"{limiter['windowMs'] / 1000:g} s{reserved}; the next slot opens in "
            f"{limiter['nextResetMs'] / 1000:.0f} s."
        )
    return None


def _store_reason(job: BackfillJob, condition: store.StoreCondition) -> str:
    """Why nothing is dispatched while the snapshot store cannot take writes."""
    resume = (
        f"; writes resume at {condition.resume_at_bytes:,} bytes free"
        if condition.resume_at_bytes is not None
        else ""
    )
    assemblies = job.assemblies.count()
    waiting = f" The snapshots of {assemblies} date(s) wait to be assembled." if assemblies else ""
    return (
        f"{condition.sentence}{resume}: no unit is dispatched, and units that could not write "
        f"went back to the queue (not counted as attempts).{waiting} Everything resumes by "
        "itself once the store takes writes again (checked every 10 s)."
    )


# --- the job page's grid of dates x districts -------------------------------------------------

# Beyond this many dates the grid shows weeks (a year of daily units stays readable).
GRID_MAX_COLUMNS = 62
# The order in which one cell that aggregates several units shows its "worst" state.
GRID_PRECEDENCE = (
    UnitStatus.FAILED,
    UnitStatus.RUNNING,
    UnitStatus.PENDING,
    UnitStatus.WAITING,
    UnitStatus.CANCELLED,
    UnitStatus.UNAVAILABLE,
    UnitStatus.SKIPPED,
    UnitStatus.SUCCEEDED,
)


@dataclass(frozen=True)
class UnitGrid:
    """Rows are districts, columns are dates (or weeks starting on `columns[i]`)."""

    by_week: bool
    columns: tuple[str, ...]  # ISO dates: each date, or the Monday of each week
    districts: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]  # [district][column] -> status ("" when no unit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "byWeek": self.by_week,
            "columns": list(self.columns),
            "districts": list(self.districts),
            "cells": [list(row) for row in self.cells],
        }


def unit_grid(*, job: BackfillJob) -> UnitGrid:
    """The job's units as a grid of district x date, each cell the most telling status of its
    units (failed first, succeeded last). One grouped query; by week when the range is wide."""
    days = (job.end_date - job.start_date).days + 1
    by_week = days > GRID_MAX_COLUMNS
    units = BackfillUnit.objects.filter(job=job)
    if by_week:
        rows = (
            units.annotate(column=TruncWeek("logical_date"))
            .values_list("district_id", "column", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        first = job.start_date - timedelta(days=job.start_date.weekday())
        columns = tuple(
            first + timedelta(weeks=w) for w in range((job.end_date - first).days // 7 + 1)
        )
    else:
        rows = (
            units.values_list("district_id", "logical_date", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        columns = tuple(job.start_date + timedelta(days=d) for d in range(days))
    index = {column: i for i, column in enumerate(columns)}
    rank = {status: i for i, status in enumerate(GRID_PRECEDENCE)}
    best: dict[str, dict[int, str]] = {}
    for district_id, column, status, _ in rows:
        column = column.date() if hasattr(column, "date") else column
        cells = best.setdefault(district_id, {})
        i = index[column]
        if i not in cells or rank.get(status, -1) < rank.get(cells[i], len(rank)):
            cells[i] = status
    districts = tuple(sorted(best, key=district_sort_key))
    return UnitGrid(
        by_week=by_week,
        columns=tuple(c.isoformat() for c in columns),
        districts=districts,
        cells=tuple(tuple(best[d].get(i, "") for i in range(len(columns))) for d in districts),
    )


def cell_units(*, job: BackfillJob, district_id: str, first: date, last: date) -> list[dict]:
    """The units behind one grid cell (a date, or a week's dates) with attempts and errors."""
    units = list(
        BackfillUnit.objects.filter(
            job=job, district_id=district_id, logical_date__range=(first, last)
        ).order_by("logical_date")
    )
    pending_why = (
        unit_pending_reason(job=job, unit=units[0])
        if units and any(u.status == UnitStatus.PENDING for u in units)
        else ""
    )
    return [
        {
            "whyNotRunning": pending_why if unit.status == UnitStatus.PENDING else "",
            "date": unit.logical_date.isoformat(),
            "districtId": unit.district_id,
            "status": unit.status,
            "attempts": unit.attempts,
            "requestsMade": unit.requests_made,
            "errorType": unit.error_type,
            "errorMessage": unit.error_message,
            "retryable": unit.retryable,
            "durationMs": unit.duration_ms,
        }
        for unit in units
    ]


def unit_pending_reason(*, job: BackfillJob, unit: BackfillUnit) -> str:
    """Why a pending unit has not started: its job's reason, or its place in the job's queue."""
    reason = why_not_running(job=job)
    if reason:
        return reason
    ahead = BackfillUnit.objects.filter(
        job=job, status=UnitStatus.PENDING, logical_date__lt=unit.logical_date
    ).count()
    running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).count()
    return (
        f"Queued in its job: {ahead} earlier units wait before it and {running} run now "
        f"(the job runs at most {job.concurrency} at a time)."
    )


def job_status(*, job: BackfillJob) -> dict[str, Any]:
    """What an operator watching a job needs, camelCase-ready: state, progress (with the
    per-district breakdown), the date being worked on, why it does not progress, the error
    summary (live while it runs) and the limits' state."""
    progress = job_progress(job=job)
    day = _current_date(job)
    last_errors = _last_errors(job)
    performance = dashboard_performance()
    return {
        "jobId": str(job.pk),
        "status": job.status,
        "priority": job.priority_label,
        "runKind": job.run_kind,
        "isTerminal": job.is_terminal,
        "progress": {
            **{k: v for k, v in progress.as_dict().items() if k != "districts"},
            "currentDate": day.isoformat() if day else None,
        },
        "districts": [
            {**asdict(d), "lastError": last_errors.get(d.district_id, "")}
            for d in progress.districts
        ],
        "whyNotRunning": why_not_running(job=job, performance=performance),
        "snapshotStore": _store_condition_dict(),
        "errorSummary": job.error_summary if job.is_terminal else job_error_summary(job=job),
        "performanceStatus": performance,
        "startedAt": job.started_at.isoformat() if job.started_at else None,
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
    }


def _last_errors(job: BackfillJob) -> dict[str, str]:
    """district id -> the message of its most recently failed unit."""
    failed = (
        BackfillUnit.objects.filter(job=job, status=UnitStatus.FAILED)
        .order_by("-finished_at")
        .values_list("district_id", "error_type", "error_message")[:5000]
    )
    errors: dict[str, str] = {}
    for district_id, error_type, message in failed:
        errors.setdefault(district_id, f"{error_type}: {message}")
    return errors


@dataclass(frozen=True)
class Overview:
    """The admin index's Backfill panel: what runs, what waits, what ended last."""

    active: tuple[tuple[BackfillJob, JobProgress], ...]
    queued: tuple[BackfillJob, ...]  # unfinished jobs that do not run: pending, paused
    finished: tuple[BackfillJob, ...]
    # Set while the snapshot store cannot take writes (nothing is dispatched meanwhile).
    store_condition: store.StoreCondition | None = None


def overview(*, finished_limit: int = 5) -> Overview:
    active = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).order_by(
        *JOB_DISPATCH_ORDER
    )
    unfinished = BackfillJob.objects.exclude(
        status__in=(*ACTIVE_JOB_STATUSES, *TERMINAL_JOB_STATUSES)
    )
    return Overview(
        active=tuple((job, job_progress(job=job, per_district=False)) for job in active),
        queued=tuple(unfinished.order_by("-priority", "created_at")[:20]),
        finished=tuple(
            BackfillJob.objects.filter(status__in=TERMINAL_JOB_STATUSES).order_by("-finished_at")[
                :finished_limit
            ]
        ),
        store_condition=store.store_condition(),
    )


# --- audits of what is stored -------------------------------------------------------------------


def audit_history(
    *, outcome: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[SnapshotAudit], int, dict[str, int]]:
    """One page of audit checks (newest first), the count matching `outcome`, and the count of
    every outcome over all checks."""
    checks = SnapshotAudit.objects.all()
    if outcome:
        checks = checks.filter(outcome=outcome)
    totals = dict.fromkeys(AuditOutcome.values, 0)
    totals.update(SnapshotAudit.objects.values_list("outcome").annotate(n=Count("id")).order_by())
    return list(checks[offset : offset + limit]), checks.count(), totals
