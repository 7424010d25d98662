"""The job API (staff only, JSON in camelCase), under /api/admin/:

POST   backfill                          create a job (202, Location; says when it waits);
                                         with an Idempotency-Key, once per key (200: its job)
GET    backfill/<jobId>                  the full status
DELETE backfill/<jobId>                  cancel (cooperative)
POST   backfill/<jobId>/retry            queue the failed units again
POST   backfill/<jobId>/pause            stop dispatching; units in flight finish
POST   backfill/<jobId>/resume           continue from the checkpoint
GET    backfill/jobs                     history, newest first, with the count
POST   backfill/preview                  the dry run: nothing is written
GET|PUT|PATCH backfill/config/rate-limit the limiter configuration

Every view is input serializer -> service or selector -> output serializer; domain errors
(ValidationError, JobNotFound, JobStateConflict) become HTTP errors in
`backfill_project.exceptions`, nowhere here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import ScopedRateThrottle

from backfill import contracts, selectors
from backfill.limits import LimitSettings
from backfill.models import BackfillJob, CreatedVia, JobPriority, JobStatus, JobType, RunKind
from backfill.services import idempotency, jobs, rate_limits
from backfill_project import permissions
from snapshots.api import StaffApi

WRITE_THROTTLE_SCOPE = "backfill-write"


class BackfillApi(StaffApi):
    """Staff with the view's permissions (reading jobs unless it says otherwise); unsafe
    methods are throttled (`backfill-write` rate)."""

    throttle_scope = WRITE_THROTTLE_SCOPE
    required_permissions = {"GET": permissions.VIEW_JOBS}

    def get_throttles(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return []
        return [ScopedRateThrottle()]


# --- Output serializers -------------------------------------------------------------------


# A job's priority as the API words it (`JobPriorityEnum` in the schema).
PRIORITY_WORDS = JobPriority.labels


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


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
        help_text="Grants of each window only priority jobs (daily refresh, urgent) may take."
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
        help_text="The data-collection job whose stored dates this analytics-generation job "
        "updates; null for any other job.",
    )
    followUps = serializers.ListField(
        source="follow_ups",
        child=serializers.CharField(),
        help_text="The analytics-generation jobs this data-collection job queued when it ended "
        "(updateAnalytics), oldest first.",
    )


def job_response(job_id: object, *, code: int = status.HTTP_200_OK, **headers: str) -> Response:
    detail = selectors.job_detail(job=selectors.get_job(job_id=job_id))
    return Response(JobDetailSerializer(detail).data, status=code, headers=headers or None)


# --- Conditional GET (ETag / If-None-Match) -------------------------------------------------

# Values that follow the clock alone (countdowns and estimates recomputed at each request): left
# out of the ETag so that an unchanged job answers 304; every other value of the body is in it.
CLOCK_FIELDS = (
    ("progress", "etaSeconds"),
    ("progress", "estimatedCompletionAt"),
    ("performanceStatus", "rateLimiter", "nextResetMs"),
    ("performanceStatus", "rateLimiter", "nextResetAt"),
    ("performanceStatus", "rateLimiter", "cooldownRemainingMs"),
    ("performanceStatus", "rateLimiter", "backoffMs"),
    ("performanceStatus", "circuitBreaker", "probeInMs"),
)


def _without(body: Any, paths: Iterable[tuple[str, ...]]) -> Any:
    body = dict(body)
    for path in paths:
        node = body
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                break
            node[key] = node = dict(node[key])
        else:
            node.pop(path[-1], None)
    return body


def body_etag(body: Any, *, ignore: Iterable[tuple[str, ...]] = ()) -> str:
    """A weak ETag of a JSON body: a digest of its canonical JSON, without the `ignore` paths."""
    stable = _without(body, ignore) if ignore else body
    # Bodies are built in a fixed key order, so no sorting is needed to compare them.
    text = json.dumps(stable, separators=(",", ":"), default=str)
    return f'W/"{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"'


def _matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def versioned(request: Request, etag: str, body: Callable[[], Any]) -> Response:
    """200 with `body()` and `etag`, or 304 without building the body when the client's
    If-None-Match names `etag` (what it shows did not change since the client last read it)."""
    # `no-cache`: a browser keeps the answer but revalidates it (If-None-Match) at every poll.
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    header = request.headers.get("If-None-Match")
    if header and _matches(header, etag):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body(), headers=headers)


def conditional(
    request: Request, body: Any, *, ignore: Iterable[tuple[str, ...]] = CLOCK_FIELDS
) -> Response:
    """`versioned` for a body already built: its ETag is a digest of the body."""
    return versioned(request, body_etag(body, ignore=ignore), lambda: body)


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The `ETag` of an earlier answer: 304 with no body while nothing it shows has "
    "changed (estimates and countdowns that follow the clock alone do not count).",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description='A weak validator of the answer (`W/"..."`): send it back in If-None-Match.',
)
NOT_MODIFIED = OpenApiResponse(
    None, description="Not modified: the answer would be the one the If-None-Match ETag names."
)


# --- Examples (shown in /api/docs/) --------------------------------------------------------

CREATE_EXAMPLES = [
    OpenApiExample(
        "Two districts, full detail",
        value={
            "startDate": "2025-03-01",
            "endDate": "2025-03-31",
            "targetDistricts": ["42", "61"],
        },
        request_only=True,
    ),
    OpenApiExample(
        "Redo the partial and failed dates of a month",
        value={"startDate": "2025-03-01", "endDate": "2025-03-31", "reprocess": "failed"},
        request_only=True,
    ),
    OpenApiExample(
        "Analytics of every stored snapshot",
        value={"jobType": "analytics-generation"},
        request_only=True,
    ),
]
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No job with this id.")
CONFLICT = OpenApiResponse(ConflictSerializer, description="The job's state forbids it.")
AUTH_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Not staff (or CSRF failed)."),
}
WRITE_ERRORS = {
    **AUTH_ERRORS,
    413: OpenApiResponse(ErrorSerializer, description="Body over 2.5 MB."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled."),
}
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description='Each bad field with its messages: {"startDate": ["..."]}.'
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: create the job at most once for this key (1 to 255 visible ASCII "
    "characters, e.g. a UUID; one namespace per user, kept 24 hours). The same key with the "
    "same body answers the job the first request created, with 200 instead of 202 (also while "
    "the first request is still running: it waits for it); the same key with another body is "
    "refused with 409.",
)
JOB_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202, 200],
    required=True,
    description="The job's status URL (GET), the base of its cancel, pause, resume and retry.",
)
IDEMPOTENCY_CONFLICT = OpenApiResponse(
    IdempotencyConflictSerializer,
    description="The Idempotency-Key was used for another request (another body).",
)


def create_job_once(
    request: Request, *, body: object, entry_point: str, created_via: str
) -> tuple[BackfillJob, bool]:
    """Validate `body` and create its job; with an `Idempotency-Key` header only once per key
    (`entry_point` names the route the key was used on). Returns the job and whether this
    request created it (False: the key's first request did)."""
    backfill_request = contracts.backfill_request(body)
    key = request.headers.get("Idempotency-Key")
    if key is None:
        job = jobs.create_job(
            request=backfill_request, created_via=created_via, created_by=request.user
        )
        return job, True
    keyed = idempotency.create_job_once(
        key=key,
        user=request.user,
        entry_point=entry_point,
        body=body,
        request=backfill_request,
        created_via=created_via,
    )
    return keyed.job, keyed.created


# --- Views --------------------------------------------------------------------------------


class JobCreateApi(BackfillApi):
    required_permissions = {"POST": permissions.RUN_JOBS}

    @extend_schema(
        operation_id="backfill_job_create",
        request=contracts.BackfillRequestSerializer,
        parameters=[IDEMPOTENCY_KEY, JOB_LOCATION],
        responses={
            202: JobDetailSerializer,
            200: OpenApiResponse(
                JobDetailSerializer,
                description="The job this Idempotency-Key created (same key, same body).",
            ),
            400: BAD_REQUEST,
            409: IDEMPOTENCY_CONFLICT,
            **WRITE_ERRORS,
        },
        examples=CREATE_EXAMPLES,
        description="Validate, plan and queue a job. 202 with the job and its Location; "
        "`waiting` says when it waits behind another job. With an `Idempotency-Key`, a retry "
        "gets the first job (200) instead of a second one.",
    )
    def post(self, request: Request) -> Response:
        job, created = create_job_once(
            request, body=request.data, entry_point="api", created_via=CreatedVia.API
        )
        location = reverse("backfill-job-detail", args=[job.pk], request=request)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return job_response(job.pk, code=code, Location=location)


class JobDetailApi(BackfillApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="backfill_job_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={200: JobDetailSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND, **AUTH_ERRORS},
    )
    def get(self, request: Request, jobId: str) -> Response:
        # The ETag comes from the job's version, so a 304 never builds the body.
        version = selectors.job_version(job_id=jobId)

        def body() -> Any:
            detail = selectors.job_detail(job=version.job, performance=version.performance)
            return JobDetailSerializer(detail).data

        return versioned(request, version.digest("job"), body)

    @extend_schema(
        operation_id="backfill_job_cancel",
        responses={202: JobDetailSerializer, 404: NOT_FOUND, 409: CONFLICT, **WRITE_ERRORS},
        description="Cancel: no unit starts after this; units in flight stop before their next "
        "request. 409 for a job that has already ended.",
    )
    def delete(self, request: Request, jobId: str) -> Response:
        job = jobs.cancel_job(job=selectors.get_job(job_id=jobId))
        return job_response(job.pk, code=status.HTTP_202_ACCEPTED)


def _action_api(action: str, service, description: str) -> type[BackfillApi]:
    class ActionApi(BackfillApi):
        required_permissions = {"POST": permissions.CONTROL_JOBS}

        @extend_schema(
            operation_id=f"backfill_job_{action}",
            request=None,
            responses={202: JobDetailSerializer, 404: NOT_FOUND, 409: CONFLICT, **WRITE_ERRORS},
            description=description,
        )
        def post(self, request: Request, jobId: str) -> Response:
            job = selectors.get_job(job_id=jobId)
            service(job=job)
            return job_response(job.pk, code=status.HTTP_202_ACCEPTED)

    ActionApi.__name__ = ActionApi.__qualname__ = f"Job{action.title()}Api"
    return ActionApi


JobRetryApi = _action_api(
    "retry",
    jobs.retry_failed,
    "Queue a finished job's failed units again (only those). 409 while the job is active or "
    "when it has no failed unit.",
)
JobPauseApi = _action_api(
    "pause",
    jobs.pause_job,
    "Stop dispatching: units in flight finish, the rest wait. The job keeps its place and no "
    "longer counts as active, so the queue behind it may start. 409 unless queued or running.",
)
JobResumeApi = _action_api(
    "resume",
    jobs.resume_job,
    "Continue a paused job from its checkpoint, in its place in the queue. 409 unless paused.",
)


class JobListApi(BackfillApi):
    class JobFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
        jobType = serializers.ChoiceField(choices=JobType.values, required=False)
        createdVia = serializers.ChoiceField(choices=CreatedVia.values, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=20)
        offset = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)

    class JobListSerializer(serializers.Serializer):
        jobs = JobSummarySerializer(many=True)
        count = serializers.IntegerField(help_text="Jobs matching the filters, all pages.")
        limit = serializers.IntegerField()
        offset = serializers.IntegerField()

    @extend_schema(
        operation_id="backfill_job_list",
        parameters=[JobFilterSerializer, IF_NONE_MATCH, ETAG],
        responses={
            200: JobListSerializer,
            304: NOT_MODIFIED,
            400: BAD_REQUEST,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        # A plain dict: from a QueryDict DRF reads `?status=` as no status at all.
        filters = self.JobFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page, count = selectors.job_history(
            status=data.get("status"),
            job_type=data.get("jobType"),
            created_via=data.get("createdVia"),
            limit=data["limit"],
            offset=data["offset"],
        )
        body = {"jobs": page, "count": count, "limit": data["limit"], "offset": data["offset"]}
        return conditional(request, self.JobListSerializer(body).data)


class DatePlanSerializer(serializers.Serializer):
    date = serializers.DateField(source="logical_date")
    plan = serializers.ChoiceField(
        choices=["fetch", "stored", "waiting", "unavailable", "read", "missing"],
        help_text="data-collection: fetch, stored, waiting, unavailable. analytics-generation: "
        "read (a stored snapshot is read), missing (no snapshot stored), unavailable.",
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


class PreviewApi(BackfillApi):
    # The dry run of a start: as in the admin, where it is a step of New backfill.
    required_permissions = {"POST": permissions.RUN_JOBS}

    class PreviewSerializer(serializers.Serializer):
        collectionStrategy = PreviewStrategySerializer(source="*")
        scope = ScopeSerializer()
        totalUnits = serializers.IntegerField(source="total_units")
        pendingUnits = serializers.IntegerField(source="pending_units")
        skippedUnits = serializers.IntegerField(source="skipped_units")
        unavailableUnits = serializers.IntegerField(source="unavailable_units")
        requests = serializers.IntegerField()
        estimatedDurationSeconds = serializers.FloatField(source="estimated_duration_seconds")
        warnings = serializers.ListField(child=serializers.CharField())
        dates = DatePlanSerializer(many=True, help_text="Every date with its plan and why.")
        snapshotsRead = SnapshotReadsSerializer(
            source="reads",
            allow_null=True,
            help_text="analytics-generation: the snapshots the job reads; null for "
            "data-collection.",
        )

    @extend_schema(
        operation_id="backfill_preview",
        request=contracts.BackfillRequestSerializer,
        responses={200: PreviewSerializer, 400: BAD_REQUEST, **WRITE_ERRORS},
        examples=CREATE_EXAMPLES,
        description="What the job would do, nothing written: units, requests, stored, "
        "unavailable, estimated duration under the current rate limit, warnings, every date.",
    )
    def post(self, request: Request) -> Response:
        preview = jobs.preview_job(request=contracts.backfill_request(request.data))
        return Response(self.PreviewSerializer(preview).data)


class RateLimitConfigApi(BackfillApi):
    required_permissions = {
        "GET": permissions.VIEW_RATE_LIMIT,
        "PUT": permissions.EDIT_RATE_LIMIT,
        "PATCH": permissions.EDIT_RATE_LIMIT,
    }

    class RateLimitConfigOutputSerializer(serializers.Serializer):
        maxRequests = serializers.IntegerField(source="max_requests")
        windowMs = serializers.IntegerField(source="window_ms")
        minDelayMs = serializers.IntegerField(source="min_delay_ms")
        maxDelayMs = serializers.IntegerField(source="max_delay_ms")
        backoffMultiplier = serializers.FloatField(source="backoff_multiplier")
        maxConcurrent = serializers.IntegerField(source="max_concurrent")
        updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema(
        operation_id="backfill_rate_limit_retrieve",
        responses={200: RateLimitConfigOutputSerializer, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(self.RateLimitConfigOutputSerializer(selectors.rate_limit_config()).data)

    @extend_schema(
        operation_id="backfill_rate_limit_update",
        request=contracts.RateLimitConfigSerializer,
        responses={200: RateLimitConfigOutputSerializer, 400: BAD_REQUEST, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "The seeds' defaults",
                value={
                    "maxRequests": 10,
                    "windowMs": 60000,
                    "minDelayMs": 2000,
                    "maxDelayMs": 30000,
                    "backoffMultiplier": 2,
                    "maxConcurrent": 3,
                },
                request_only=True,
            )
        ],
    )
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        operation_id="backfill_rate_limit_partial_update",
        request=contracts.RateLimitConfigSerializer(partial=True),
        responses={200: RateLimitConfigOutputSerializer, 400: BAD_REQUEST, **WRITE_ERRORS},
        examples=[OpenApiExample("Slower", value={"maxRequests": 5}, request_only=True)],
    )
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        current = LimitSettings.from_config(selectors.rate_limit_config())
        serializer = contracts.RateLimitConfigSerializer(
            data=request.data, partial=partial, current=current
        )
        serializer.is_valid(raise_exception=True)
        config = rate_limits.update_rate_limit_config(limits=serializer.limit_settings())
        return Response(self.RateLimitConfigOutputSerializer(config).data)
