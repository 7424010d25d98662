"""Why a job does not progress right now: its place in the queue, or the engine's state
(pause, workers, snapshot store, Redis, breaker, 429 cooldown, limiter)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from backfill_project import heartbeat
from snapshots import store

from ..models import (
    ACTIVE_JOB_STATUSES,
    JOB_DISPATCH_ORDER,
    BackfillJob,
    BackfillUnit,
    JobPriority,
    JobStatus,
    UnitStatus,
)
from .performance import dashboard_performance


@dataclass(frozen=True)
class QueueState:
    """Why a job that is not running waits: its place among queued jobs (1 = next), the active
    jobs ahead of it and a sentence for people."""

    position: int | None
    waiting_behind: tuple[str, ...]
    reason: str


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


# Units older than this in `running` with no job heartbeat mean no worker is working on them.
NO_WORKER_AFTER_SECONDS = 120


def why_not_running(
    *,
    job: BackfillJob,
    now=None,
    performance: dict[str, Any] | None = None,
    running: bool | None = None,
) -> str | None:
    """One sentence saying why a job that is not finished does not progress right now, from
    the engine's real state (queue, pause, workers, Redis, breaker, 429 cooldown, limiter); None
    when it is progressing or finished. The admin and the API show the same sentence.
    `performance` is `dashboard_performance()` and `running` whether a unit of the job is in
    flight, when the caller has them already (the status routes read both at every poll)."""
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
    silent = workers_silent()
    if silent:
        return silent
    if running is None:
        running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).exists()
    last_report = job.heartbeat_at or job.started_at
    if running and last_report and (now - last_report).total_seconds() > NO_WORKER_AFTER_SECONDS:
        minutes = int((now - last_report).total_seconds() // 60)
        return (
            f"No worker has reported on this job for {minutes} min: are workers running? "
            "Recovery re-dispatches its units once they count as stale."
        )
    limits = performance or dashboard_performance()
    # The dashboard's limits hold only jobs that send it requests (not analytics, publish,
    # import, nor re-normalizing the archive).
    dashboard = not job.is_store_bound
    if dashboard and not limits["redisAvailable"]:
        return "Redis is unreachable: no request may leave (the rate limiter fails closed)."
    breaker = limits["circuitBreaker"]
    if dashboard and breaker["state"] == "open":
        return (
            f"The circuit breaker is open after {breaker['failures']} failures in a row; the "
            f"next probe request may leave in {breaker['probeInMs'] / 1000:.0f} s."
        )
    limiter = limits["rateLimiter"]
    if dashboard and limiter["cooldownRemainingMs"]:
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
    if not dashboard:
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


def workers_silent() -> str:
    """ "No worker is running (the last one answered 3 min ago) ..." when workers sent
    heartbeats in the last day but none is alive now; "" otherwise (one is alive, none was
    ever seen, or Redis cannot say)."""
    try:
        beats = heartbeat.read()
    except redis.RedisError:
        return ""
    if beats.live_workers() or not beats.workers:
        return ""
    last = heartbeat.describe_age(beats.workers[0].age)
    return (
        f"No worker is running (the last one answered {last} ago): no unit runs until a worker "
        "starts (`celery -A backfill_project worker`)."
    )


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
