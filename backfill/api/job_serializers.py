"""The job API's output serializers: what a job, its status, the history and the preview look
like in JSON (camelCase). The admin's live job page shows the same status body."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers

from backfill.models import CreatedVia, JobPriority, JobStatus, JobType, RunKind

# A job's priority as the API words it (`JobPriorityEnum` in the schema).
PRIORITY_WORDS = JobPriority.labels


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    jobId = serializers.CharField()
    action = serializers.CharField()
    status = serializers.CharField(help_text="The job's current state.")


class IdempotencyConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=["idempotency_key_reused"])
    jobId = serializers.CharField(help_text="The job the key created.")


class ScopeSerializer(serializers.Serializer):
    # Defaults cover jobs recorded before a key existed; planning always writes every key.
    targetDistricts = serializers.ListField(child=serializers.CharField(), default=list)
    configuredDistricts = serializers.ListField(child=serializers.CharField(), default=list)
    excludedDistricts = serializers.ListField(child=serializers.CharField(), default=list)
    scopeType = serializers.ChoiceField(
        choices=["system-wide", "targeted", "single-district"], default="system-wide"
    )
    validationPassed = serializers.BooleanField(default=True)
    warnings = serializers.ListField(child=serializers.CharField(), default=list)


class StrategySerializer(serializers.Serializer):
    type = serializers.CharField(source="summary.collection_strategy")
    rationale = serializers.CharField(source="strategy_rationale")
    estimatedEfficiency = serializers.FloatField(
        source="estimated_efficiency", help_text="Districts covered per request."
    )


class DistrictProgressSerializer(serializers.Serializer):
    districtId = serializers.CharField(source="district_id", help_text='"*" = every district')
    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unavailable = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()


@extend_schema_field(DistrictProgressSerializer(many=True))
class DistrictProgressListField(serializers.Field):
    """`districtProgress` without a serializer per district: a 120-district job is polled, and
    DRF's per-field machinery would cost more than the query behind it. Same shape as
    DistrictProgressSerializer (which documents it)."""

    def to_representation(self, districts):
        return [
            {
                "districtId": d.district_id,
                "total": d.total,
                "succeeded": d.succeeded,
                "skipped": d.skipped,
                "unavailable": d.unavailable,
                "failed": d.failed,
                "cancelled": d.cancelled,
                "pending": d.pending,
                "running": d.running,
            }
            for d in districts
        ]


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(source="progress.total")
    succeeded = serializers.IntegerField(source="progress.succeeded")
    skipped = serializers.IntegerField(source="progress.skipped")
    unavailable = serializers.IntegerField(source="progress.unavailable")
    failed = serializers.IntegerField(source="progress.failed")
    cancelled = serializers.IntegerField(source="progress.cancelled")
    running = serializers.IntegerField(source="progress.running")
    pending = serializers.IntegerField(source="progress.pending")
    waiting = serializers.IntegerField(
        source="progress.waiting", help_text="Month ends waiting for their month to close."
    )
    percent = serializers.FloatField(source="progress.percent")
    currentDate = serializers.DateField(source="current_date", allow_null=True)
    etaSeconds = serializers.FloatField(source="progress.eta_seconds", allow_null=True)
    estimatedCompletionAt = serializers.DateTimeField(
        source="estimated_completion_at", allow_null=True
    )
    districtProgress = DistrictProgressListField(source="progress.districts", read_only=True)


class ErrorSummarySerializer(serializers.Serializer):
    totalErrors = serializers.IntegerField()
    retryableErrors = serializers.IntegerField()
    permanentErrors = serializers.IntegerField()
    byType = serializers.DictField(child=serializers.IntegerField())
    affectedDistricts = serializers.ListField(child=serializers.CharField())
    partialSnapshots = serializers.IntegerField()


class PartialSnapshotSerializer(serializers.Serializer):
    snapshotId = serializers.CharField(source="snapshot_id")
    status = serializers.CharField()
    successfulDistricts = serializers.IntegerField(source="successful_districts")
    failedDistricts = serializers.IntegerField(source="failed_districts")
    totalDistricts = serializers.IntegerField(source="total_districts")
    successRate = serializers.FloatField(source="success_rate")


class AdaptiveStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=("normal", "slow", "errors", "relaxing"))
    extraDelayMs = serializers.IntegerField()
    baselineMs = serializers.FloatField(
        allow_null=True, help_text="Slow moving average of response times."
    )
    recentMs = serializers.FloatField(allow_null=True, help_text="Fast moving average.")
    errorScore = serializers.FloatField()
    answers = serializers.IntegerField()


class RateLimiterStateSerializer(serializers.Serializer):
    currentCount = serializers.IntegerField(allow_null=True)
    maxRequests = serializers.IntegerField()
    windowMs = serializers.IntegerField()
    minDelayMs = serializers.IntegerField()
    nextResetMs = serializers.IntegerField(allow_null=True)
    cooldownRemainingMs = serializers.IntegerField(allow_null=True)
    backoffMs = serializers.IntegerField(allow_null=True)
    reservedForPriority = serializers.IntegerField(
        help_text=(
            "Grants of each window only priority jobs (daily refresh, urgent) may take now: the "
            "reserved share while one is queued or in flight, 0 while it is lent to the others."
        )
    )
    effectiveDelayMs = serializers.IntegerField(
        allow_null=True,
        help_text="The minimum delay in force: the configured one plus the adaptive extra.",
    )
    delayReason = serializers.CharField(help_text="Why the effective delay is what it is.")
    adaptive = AdaptiveStateSerializer(allow_null=True)


class BreakerStateSerializer(serializers.Serializer):
    state = serializers.CharField(allow_null=True)
    failures = serializers.IntegerField(allow_null=True)
    probeInMs = serializers.IntegerField(
        allow_null=True, help_text="While open: when the next probe request may leave."
    )


class ConcurrencySerializer(serializers.Serializer):
    active = serializers.IntegerField(help_text="Units in flight across active jobs.")
    max = serializers.IntegerField()
    queued = serializers.IntegerField(help_text="Units waiting in active jobs.")


class CacheStateSerializer(serializers.Serializer):
    hits = serializers.IntegerField(allow_null=True)
    misses = serializers.IntegerField(allow_null=True)
    hitRate = serializers.FloatField(allow_null=True)
    entries = serializers.IntegerField(allow_null=True)
    bytes = serializers.IntegerField(allow_null=True)


class PerformanceSerializer(serializers.Serializer):
    redisAvailable = serializers.BooleanField()
    rateLimiter = RateLimiterStateSerializer()
    circuitBreaker = BreakerStateSerializer()
    concurrency = ConcurrencySerializer()
    intermediateCache = CacheStateSerializer()


class WaitingSerializer(serializers.Serializer):
    position = serializers.IntegerField(allow_null=True, help_text="1 = next to start.")
    waitingBehind = serializers.ListField(
        source="waiting_behind", child=serializers.CharField(), help_text="Active job ids."
    )
    reason = serializers.CharField()


class JobSummarySerializer(serializers.Serializer):
    jobId = serializers.CharField(source="job_id")
    jobType = serializers.ChoiceField(source="job_type", choices=JobType.values)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    createdVia = serializers.ChoiceField(source="created_via", choices=CreatedVia.values)
    createdBy = serializers.CharField(source="created_by", allow_null=True)
    priority = serializers.ChoiceField(choices=PRIORITY_WORDS)
    runKind = serializers.ChoiceField(source="run_kind", choices=RunKind.values)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    startDate = serializers.DateField(source="start_date")
    endDate = serializers.DateField(source="end_date")
    collectionStrategy = serializers.CharField(source="collection_strategy")
    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unavailable = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    percent = serializers.FloatField()


class JobDetailSerializer(serializers.Serializer):
    jobId = serializers.CharField(source="summary.job_id")
    jobType = serializers.ChoiceField(source="summary.job_type", choices=JobType.values)
    status = serializers.ChoiceField(source="summary.status", choices=JobStatus.choices)
    createdVia = serializers.ChoiceField(source="summary.created_via", choices=CreatedVia.values)
    createdBy = serializers.CharField(source="summary.created_by", allow_null=True)
    priority = serializers.ChoiceField(
        source="summary.priority",
        choices=JobPriority.labels,
        help_text="Dispatch serves higher first: urgent > daily > normal > low.",
    )
    runKind = serializers.ChoiceField(
        source="summary.run_kind",
        choices=RunKind.values,
        help_text="daily-refresh (the scheduled refresh of current data) or backfill (history).",
    )
    createdAt = serializers.DateTimeField(source="summary.created_at")
    startedAt = serializers.DateTimeField(source="summary.started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="summary.finished_at", allow_null=True)
    heartbeatAt = serializers.DateTimeField(source="heartbeat_at", allow_null=True)
    startDate = serializers.DateField(source="summary.start_date")
    endDate = serializers.DateField(source="summary.end_date")
    request = serializers.DictField(help_text="The request as validated (camelCase).")
    scope = ScopeSerializer()
    collectionStrategy = StrategySerializer(source="*")
    progress = ProgressSerializer(source="*")
    errorSummary = ErrorSummarySerializer(source="error_summary")
    snapshotIds = serializers.ListField(source="snapshot_ids", child=serializers.CharField())
    partialSnapshots = PartialSnapshotSerializer(source="partial_snapshots", many=True)
    performanceStatus = PerformanceSerializer(source="performance")
    waiting = WaitingSerializer(
        source="queue",
        allow_null=True,
        help_text="Why a queued or paused job waits; null while it runs or once it has ended.",
    )
    whyNotRunning = serializers.CharField(
        source="why_not_running",
        allow_null=True,
        help_text="Why the job does not progress right now (queue, pause, snapshot store full "
        "or not writable, workers, Redis, breaker, 429 cooldown, rate limiter), as the admin "
        "shows it; null while it progresses.",
    )
    snapshotStore = serializers.DictField(
        source="store_condition",
        allow_null=True,
        help_text="While the snapshot store cannot take writes (full, nearly full, read-only, "
        "refused): `state`, `description`, `message`, `location`, `since`, `checkedAt`, "
        "`freeSpaceBytes`, `minFreeBytes`, `resumeAtBytes`; no unit is dispatched meanwhile. "
        "null while it takes writes.",
    )
    followUpOf = serializers.CharField(
        source="follow_up_of",
        allow_null=True,
        help_text="The job this one follows up: the data-collection job whose stored dates this "
        "analytics-generation job updates, or the data-collection or analytics-generation job "
        "whose dates this publish job publishes (PUBLISH_AFTER_COLLECTION); null otherwise.",
    )
    followUps = serializers.ListField(
        source="follow_ups",
        child=serializers.CharField(),
        help_text="The jobs this job queued when it ended, oldest first: analytics-generation "
        "after a data collection (updateAnalytics), publish after what stored something "
        "(PUBLISH_AFTER_COLLECTION).",
    )


class DatePlanSerializer(serializers.Serializer):
    date = serializers.DateField(source="logical_date")
    plan = serializers.ChoiceField(
        choices=[
            "fetch",
            "stored",
            "waiting",
            "unavailable",
            "read",
            "missing",
            "publish",
            "import",
        ],
        help_text="data-collection: fetch, stored, waiting, unavailable. analytics-generation: "
        "read (a stored snapshot is read), missing (no snapshot stored), unavailable. publish, "
        "import: the date is published or imported.",
    )
    reason = serializers.CharField(allow_blank=True)
    units = serializers.IntegerField()
    pendingUnits = serializers.IntegerField(source="pending_units")


class PreviewStrategySerializer(serializers.Serializer):
    type = serializers.CharField(source="collection_strategy")
    rationale = serializers.CharField()
    estimatedEfficiency = serializers.FloatField(source="estimated_efficiency")


class SnapshotReadsSerializer(serializers.Serializer):
    snapshotDates = serializers.IntegerField(
        source="snapshot_dates",
        help_text="Snapshot dates read (a time series reads its whole program year).",
    )
    districtFiles = serializers.IntegerField(
        source="district_files", help_text="Distinct district files read."
    )
    programYears = serializers.ListField(source="program_years", child=serializers.CharField())
    missingDates = serializers.ListField(
        source="missing_dates",
        child=serializers.DateField(),
        help_text="Dates of the range with no stored snapshot.",
    )
    partialDates = serializers.ListField(
        source="partial_dates",
        child=serializers.DateField(),
        help_text="Stored dates of the range whose snapshot is not completed (partial_success, "
        "failed, or no manifest yet).",
    )
