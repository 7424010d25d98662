"""The job API (staff only, JSON in camelCase), under /api/admin/:

POST   backfill                          create a job (202, Location; says when it waits);
                                         with an Idempotency-Key, once per key (200: its job)
GET    backfill/<job_id>                  the full status
DELETE backfill/<job_id>                  cancel (cooperative)
POST   backfill/<job_id>/retry            queue the failed units again
POST   backfill/<job_id>/pause            stop dispatching; units in flight finish
POST   backfill/<job_id>/resume           continue from the checkpoint
GET    backfill/jobs                     history, newest first, with the count
POST   backfill/preview                  the dry run: nothing is written
GET|PUT|PATCH backfill/config/rate-limit the limiter configuration

Every view is input serializer -> service or selector -> output serializer; domain errors
(ValidationError, JobNotFound, JobStateConflict) become HTTP errors in
`backfill_project.exceptions`, nowhere here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import ScopedRateThrottle

from backfill import contracts
from backfill.limits import LimitSettings
from backfill.models import BackfillJob, CreatedVia, JobStatus, JobType
from backfill.selectors import history, performance
from backfill.selectors import jobs as job_reads
from backfill.services import actions, idempotency, jobs, rate_limits
from backfill_project import permissions
from backfill_project.api_errors import AUTH_ERRORS, BAD_REQUEST, ErrorSerializer
from snapshots.api import StaffApi

from .conditional import ETAG, IF_NONE_MATCH, NOT_MODIFIED, conditional, versioned
from .job_serializers import (
    ConflictSerializer,
    DatePlanSerializer,
    IdempotencyConflictSerializer,
    JobDetailSerializer,
    JobSummarySerializer,
    PreviewStrategySerializer,
    ScopeSerializer,
    SnapshotReadsSerializer,
)

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


def job_response(job_id: object, *, code: int = status.HTTP_200_OK, **headers: str) -> Response:
    detail = job_reads.job_detail(job=job_reads.get_job(job_id=job_id))
    return Response(JobDetailSerializer(detail).data, status=code, headers=headers or None)


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
    OpenApiExample(
        "Publish a month to the site's bucket",
        value={
            "jobType": "publish",
            "startDate": "2025-03-01",
            "endDate": "2025-03-31",
            "destination": "gs://toast-stats-data/",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Import the site's history from a directory",
        value={"jobType": "import", "source": "file:///srv/cdn"},
        request_only=True,
    ),
]
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No job with this id.")
CONFLICT = OpenApiResponse(ConflictSerializer, description="The job's state forbids it.")
WRITE_ERRORS = {
    **AUTH_ERRORS,
    413: OpenApiResponse(ErrorSerializer, description="Body over 2.5 MB."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled."),
}
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
    def get(self, request: Request, job_id: str) -> Response:
        # The ETag comes from the job's version, so a 304 never builds the body.
        version = job_reads.job_version(job_id=job_id)

        def body() -> Any:
            detail = job_reads.job_detail(job=version.job, performance=version.performance)
            return JobDetailSerializer(detail).data

        return versioned(request, version.digest("job"), body)

    @extend_schema(
        operation_id="backfill_job_cancel",
        responses={202: JobDetailSerializer, 404: NOT_FOUND, 409: CONFLICT, **WRITE_ERRORS},
        description="Cancel: no unit starts after this; units in flight stop before their next "
        "request. 409 for a job that has already ended.",
    )
    def delete(self, request: Request, job_id: str) -> Response:
        job = actions.cancel_job(job=job_reads.get_job(job_id=job_id))
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
        def post(self, request: Request, job_id: str) -> Response:
            job = job_reads.get_job(job_id=job_id)
            service(job=job)
            return job_response(job.pk, code=status.HTTP_202_ACCEPTED)

    ActionApi.__name__ = ActionApi.__qualname__ = f"Job{action.title()}Api"
    return ActionApi


JobRetryApi = _action_api(
    "retry",
    actions.retry_failed,
    "Queue a finished job's failed units again (only those). 409 while the job is active or "
    "when it has no failed unit.",
)
JobPauseApi = _action_api(
    "pause",
    actions.pause_job,
    "Stop dispatching: units in flight finish, the rest wait. The job keeps its place and no "
    "longer counts as active, so the queue behind it may start. 409 unless queued or running.",
)
JobResumeApi = _action_api(
    "resume",
    actions.resume_job,
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
        page, count = history.job_history(
            status=data.get("status"),
            job_type=data.get("jobType"),
            created_via=data.get("createdVia"),
            limit=data["limit"],
            offset=data["offset"],
        )
        body = {"jobs": page, "count": count, "limit": data["limit"], "offset": data["offset"]}
        return conditional(request, self.JobListSerializer(body).data)


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
            help_text="analytics-generation: the snapshots the job reads; null for the other "
            "job types.",
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
        return Response(self.RateLimitConfigOutputSerializer(performance.rate_limit_config()).data)

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
        current = LimitSettings.from_config(performance.rate_limit_config())
        serializer = contracts.RateLimitConfigSerializer(
            data=request.data, partial=partial, current=current
        )
        serializer.is_valid(raise_exception=True)
        config = rate_limits.update_rate_limit_config(limits=serializer.limit_settings())
        return Response(self.RateLimitConfigOutputSerializer(config).data)
