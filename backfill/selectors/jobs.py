"""The one read model of a job's status: its progress, its detail (the API's status, the
admin's live page, the legacy status) and its version (what the status routes' ETag digests)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from districts.ids import district_sort_key
from snapshots import store
from snapshots.models import Snapshot, SnapshotStatus

from ..errors import JobNotFound
from ..models import (
    BackfillJob,
    BackfillUnit,
    JobStatus,
    SnapshotAssembly,
    UnitCount,
    UnitStatus,
)
from .history import JobSummary, UnitTally, job_summary
from .performance import dashboard_performance
from .waiting import QueueState, queue_state, why_not_running


def get_job(*, job_id: object) -> BackfillJob:
    """The job with this id. Raises JobNotFound (also for an id that is not a UUID)."""
    try:
        return BackfillJob.objects.select_related("created_by").get(pk=uuid.UUID(str(job_id)))
    except (ValueError, BackfillJob.DoesNotExist):
        raise JobNotFound(job_id=job_id) from None


@dataclass(frozen=True)
class DistrictProgress(UnitTally):
    district_id: str
    pending: int
    running: int
    waiting: int = 0


@dataclass(frozen=True)
class JobProgress(UnitTally):
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
        # Written out: the status routes read these rows at every poll.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT district_id, status, count FROM {UnitCount._meta.db_table} "
                "WHERE job_id = %s AND count <> 0 ORDER BY district_id, status",
                [job.pk],
            )
            return tuple(cursor.fetchall())
    rows = BackfillUnit.objects.filter(job=job).values("district_id", "status")
    return tuple(
        rows.annotate(count=Count("*"))
        .order_by("district_id", "status")
        .values_list("district_id", "status", "count")
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
        summary=job_summary(job),
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
    ETag before building any body, and the legacy status keys its body by it."""

    job: BackfillJob
    # What changes whenever a unit changes in a way any status shows; its last item is the
    # (district id, status, count) rows of the units (`district_counts`).
    units: tuple[Any, ...]
    snapshots: tuple[Any, ...]  # how many snapshots, partial ones, their sizes
    others: tuple[Any, ...]  # follow-ups, assemblies, queue, store, why not running
    performance: dict[str, Any]  # dashboard_performance(), reused by the body

    @property
    def district_counts(self) -> tuple[tuple[str, str, int], ...]:
        return self.units[-1]

    @property
    def legacy_key(self) -> tuple[Any, ...]:
        """What the legacy body shows but for the limits' state: the seed's BackfillResponse
        has no queue, store, follow-ups or reason for waiting, so a change of those (the
        "no worker for N min" sentence changes every minute) keeps its body and its ETag."""
        return (self.units, self.snapshots)

    def digest(self, *parts: object, legacy: bool = False) -> str:
        """A weak ETag of this version for one representation (`parts` name it); `legacy`
        digests only what the legacy body shows."""
        limits = {
            key: {k: v for k, v in value.items() if k not in PERFORMANCE_CLOCK_FIELDS.get(key, ())}
            if isinstance(value, dict)
            else value
            for key, value in self.performance.items()
        }
        shown = self.legacy_key if legacy else (*self.legacy_key, self.others)
        text = json.dumps(
            [parts, str(self.job.pk), *shown, limits], separators=(",", ":"), default=str
        )
        return f'W/"{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"'


# The job row with the counts of its related rows that its status shows, in one statement
# (written out: the poll path pays no query compilation).
_VERSIONED_JOB_SQL = """
SELECT j.*,
       (SELECT sum(u.attempts) FROM {unit} u WHERE u.job_id = j.id AND u.status = %s)
           AS v_claimed,
       (SELECT count(*) FROM {snapshot} s WHERE s.job_id = j.id) AS v_snapshots,
       (SELECT count(*) FROM {snapshot} s WHERE s.job_id = j.id AND s.status <> %s)
           AS v_partial,
       (SELECT sum(s.district_count * 100000 + s.error_count) FROM {snapshot} s
        WHERE s.job_id = j.id) AS v_snapshot_sizes,
       (SELECT count(*) FROM {job} f WHERE f.follow_up_of_id = j.id) AS v_follow_ups,
       (SELECT count(*) FROM {assembly} a WHERE a.job_id = j.id) AS v_assemblies
FROM {job} j
WHERE j.id = %s
"""


def _versioned_job(pk: uuid.UUID) -> BackfillJob | None:
    sql = _VERSIONED_JOB_SQL.format(
        job=BackfillJob._meta.db_table,
        unit=BackfillUnit._meta.db_table,
        snapshot=Snapshot._meta.db_table,
        assembly=SnapshotAssembly._meta.db_table,
    )
    # The ids as the backend stores them (uuid on PostgreSQL, hex text elsewhere).
    job_pk = BackfillJob._meta.pk.get_db_prep_value(pk, connection)
    params = [UnitStatus.RUNNING, SnapshotStatus.COMPLETED, job_pk]
    return next(iter(BackfillJob.objects.raw(sql, params)), None)


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
    job = _versioned_job(pk)
    if job is None:
        raise JobNotFound(job_id=job_id)
    counts = _district_count_rows(job)
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
        counts,
    )
    performance = dashboard_performance()
    queue = queue_state(job=job) if job.status == JobStatus.PENDING else None
    snapshots = (job.v_snapshots, job.v_partial, job.v_snapshot_sizes)
    others = (
        job.priority,
        job.started_at,
        job.finished_at,
        job.heartbeat_at,
        job.v_follow_ups,
        job.v_assemblies,
        asdict(queue) if queue else None,
        _store_condition_dict(),
        why_not_running(
            job=job,
            performance=performance,
            running=any(status == UnitStatus.RUNNING for _, status, _ in counts),
        ),
    )
    return JobVersion(
        job=job, units=units, snapshots=snapshots, others=others, performance=performance
    )


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
