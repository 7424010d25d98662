"""What each rule kind finds wrong now: `find(rule, now)` -> {condition key: Finding}.

Pure reads of the database, Redis and the store; the evaluator (`evaluation.py`) turns what is
found into alerts and resolutions. Event kinds (a failed job, a failed publish) only look at
what ended after the rule was created, so a new installation does not mail the whole history.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from backfill import limits
from backfill.models import (
    AuditOutcome,
    BackfillJob,
    JobStatus,
    JobType,
    RunKind,
    SnapshotAudit,
)
from backfill.services.planning.month_ends import recent_month_ends
from backfill_project import heartbeat
from districts.dashboard.closing import closing_date_for
from snapshots.store.condition import store_condition

from .models import AlertRule, RuleKind


@dataclass(frozen=True)
class Finding:
    subject: str
    detail: str


Findings = dict[str, Finding]


def find(rule: AlertRule, now: datetime) -> Findings:
    return FINDERS[rule.kind](rule, now)


def _ended_jobs(rule: AlertRule, statuses: list[str]):
    return BackfillJob.objects.filter(status__in=statuses, finished_at__gte=rule.created_at)


def _job_finding(job: BackfillJob, what: str) -> Finding:
    errors = ", ".join(f"{kind}: {count}" for kind, count in sorted(job.error_summary.items()))
    return Finding(
        subject=f"{what} {job.pk} ended {job.status}",
        detail=(
            f"{job.job_type} job {job.pk} ({job.start_date} .. {job.end_date}) ended "
            f"{job.status} at {job.finished_at:%Y-%m-%d %H:%M} UTC: {job.succeeded_units} "
            f"succeeded, {job.failed_units} failed of {job.total_units} units"
            + (f"; errors {errors}" if errors else "")
        ),
    )


def job_failed(rule: AlertRule, now: datetime) -> Findings:
    jobs = _ended_jobs(rule, [JobStatus.FAILED, JobStatus.PARTIAL_SUCCESS]).exclude(
        job_type=JobType.PUBLISH  # the publish rule's
    )
    return {f"job:{job.pk}": _job_finding(job, "Job") for job in jobs}


def publish_failed(rule: AlertRule, now: datetime) -> Findings:
    jobs = _ended_jobs(rule, [JobStatus.FAILED, JobStatus.PARTIAL_SUCCESS]).filter(
        job_type=JobType.PUBLISH
    )
    return {f"publish:{job.pk}": _job_finding(job, "Publish") for job in jobs}


def daily_refresh_late(rule: AlertRule, now: datetime) -> Findings:
    """The latest deadline passed (today's, else yesterday's) and no daily refresh completed
    since the start of that day. One condition: several late days send one alert."""
    deadline = datetime.combine(now.date(), rule.deadline, tzinfo=UTC)
    if deadline > now:
        deadline -= timedelta(days=1)
    if deadline < rule.created_at:
        return {}
    day_start = deadline.replace(hour=0, minute=0, second=0, microsecond=0)
    completed = BackfillJob.objects.filter(
        run_kind=RunKind.DAILY_REFRESH, status=JobStatus.COMPLETED, finished_at__gte=day_start
    ).exists()
    if completed:
        return {}
    return {
        "daily-refresh": Finding(
            subject=f"The daily refresh did not complete by {deadline:%Y-%m-%d %H:%M} UTC",
            detail=(
                f"No daily-refresh job completed since {day_start:%Y-%m-%d} 00:00 UTC; the "
                f"deadline was {deadline:%H:%M} UTC."
            ),
        )
    }


def breaker_open(rule: AlertRule, now: datetime) -> Findings:
    status = limits.circuit_breaker().status()
    if status.state == "closed":
        return {}
    return {
        "breaker": Finding(
            subject="The dashboard's circuit breaker is open",
            detail=(
                f"The breaker is {status.state} after {status.failures} consecutive failures: "
                f"no unit calls the dashboard (open more than {rule.threshold} min)."
            ),
        )
    }


def no_worker(rule: AlertRule, now: datetime) -> Findings:
    silence = heartbeat.read().worker_silence()
    if silence is not None and silence <= rule.threshold * 60:
        return {}
    since = "in the last day" if silence is None else f"for {heartbeat.describe_age(silence)}"
    return {
        "workers": Finding(
            subject="No worker is running",
            detail=f"No Celery worker has answered {since}: no unit of any job runs.",
        )
    }


def audit_drift(rule: AlertRule, now: datetime) -> Findings:
    since = max(rule.created_at, now - timedelta(hours=rule.threshold))
    drifted = list(
        SnapshotAudit.objects.filter(outcome=AuditOutcome.DRIFT, checked_at__gte=since).values_list(
            "logical_date", "district_id"
        )[:20]
    )
    if not drifted:
        return {}
    pairs = ", ".join(f"{day} district {district}" for day, district in drifted)
    return {
        "audit-drift": Finding(
            subject=f"An audit found drift in {len(drifted)} stored file(s)",
            detail=f"Re-fetched data differs from what was stored: {pairs}.",
        )
    }


def closing_undiscovered(rule: AlertRule, now: datetime) -> Findings:
    today = now.date()
    return {
        f"closing:{day:%Y-%m}": Finding(
            subject=f"The closing date of {day:%Y-%m} is still unknown",
            detail=(
                f"{day:%Y-%m} ended {(today - day).days} days ago and its closing date was not "
                "discovered: its month end is not collected. Enter it in the admin "
                "(Month-end closing dates) if probing cannot find it."
            ),
        )
        for day in recent_month_ends(today=today)
        if (today - day).days > rule.threshold and closing_date_for(day) is None
    }


def store_nearly_full(rule: AlertRule, now: datetime) -> Findings:
    condition = store_condition()
    if condition is not None:
        return {
            "store": Finding(
                subject="The snapshot store takes no writes", detail=condition.sentence
            )
        }
    if settings.SNAPSHOT_STORAGE != "filesystem":
        return {}
    usage = shutil.disk_usage(settings.SNAPSHOT_ROOT)
    if usage.free * 100 > usage.total * rule.threshold:
        return {}
    return {
        "store": Finding(
            subject="The snapshot store is nearly full",
            detail=(
                f"{settings.SNAPSHOT_ROOT} has {usage.free // 2**20} MiB free of "
                f"{usage.total // 2**20} MiB ({usage.free / usage.total:.1%}), at most "
                f"{rule.threshold}%."
            ),
        )
    }


FINDERS: dict[str, Callable[[AlertRule, datetime], Findings]] = {
    RuleKind.JOB_FAILED: job_failed,
    RuleKind.DAILY_REFRESH_LATE: daily_refresh_late,
    RuleKind.BREAKER_OPEN: breaker_open,
    RuleKind.NO_WORKER: no_worker,
    RuleKind.AUDIT_DRIFT: audit_drift,
    RuleKind.CLOSING_UNDISCOVERED: closing_undiscovered,
    RuleKind.STORE_NEARLY_FULL: store_nearly_full,
    RuleKind.PUBLISH_FAILED: publish_failed,
}

# The rules an installation starts with (created on first use, editable in the admin).
DEFAULT_THRESHOLDS = {
    RuleKind.JOB_FAILED: 0,
    RuleKind.DAILY_REFRESH_LATE: 0,
    RuleKind.BREAKER_OPEN: 10,
    RuleKind.NO_WORKER: 3,
    RuleKind.AUDIT_DRIFT: 24,
    RuleKind.CLOSING_UNDISCOVERED: 31,
    RuleKind.STORE_NEARLY_FULL: 10,
    RuleKind.PUBLISH_FAILED: 0,
}
