"""The legacy backfill routes (seeds 000 and 001), kept working on top of the same services:

POST   /api/districts/backfill                                  create
GET    /api/districts/backfill/<backfillId>                     the seeds' BackfillResponse
DELETE /api/districts/backfill/<backfillId>                     cancel
POST   /api/districts/<districtId>/backfill                     a one-district job
GET    /api/districts/<districtId>/backfill/<backfillId>        ... with `districtId`
DELETE /api/districts/<districtId>/backfill/<backfillId>

Requests go through the one input contract (`backfill.contracts`), so a legacy body means what it
means on the job API. Job states are published as the legacy status words (DESIGN.md section 4).
Every answer, errors included, carries `Deprecation`, `Sunset` and a `Link` to the successor.
Staff only, like the rest of the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from backfill import contracts, selectors
from backfill.models import CollectionStrategy, CreatedVia, JobStatus
from backfill.services import jobs
from backfill_project import permissions
from districts.ids import InvalidDistrictId, canonical_district_id

from .jobs import (
    AUTH_ERRORS,
    BAD_REQUEST,
    CONFLICT,
    ETAG,
    IDEMPOTENCY_CONFLICT,
    IDEMPOTENCY_KEY,
    IF_NONE_MATCH,
    NOT_FOUND,
    NOT_MODIFIED,
    WRITE_ERRORS,
    BackfillApi,
    conditional,
    create_job_once,
)

LEGACY_STATUS = {
    JobStatus.PENDING: "processing",
    JobStatus.RUNNING: "processing",
    JobStatus.PAUSED: "processing",
    JobStatus.RECOVERING: "processing",
    JobStatus.CANCELLING: "processing",
    JobStatus.COMPLETED: "complete",
    JobStatus.PARTIAL_SUCCESS: "partial_success",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "cancelled",
}
LEGACY_STATUS_WORDS = ["processing", "complete", "error", "cancelled", "partial_success"]
LEGACY_DISTRICT_STATUS_WORDS = ["pending", "processing", "completed", "failed", "skipped"]
REFRESH_METHOD = {
    CollectionStrategy.SYSTEM_WIDE: "getAllDistricts",
    CollectionStrategy.PER_DISTRICT: "getDistrictPerformance",
    CollectionStrategy.TARGETED: "getMultipleDistricts",
}


def _http_date(day: str) -> str:
    return format_datetime(
        datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC), True
    )


# --- Output serializers (seed 001's interfaces) -------------------------------------------


class LegacyScopeSerializer(serializers.Serializer):
    targetDistricts = serializers.ListField(child=serializers.CharField())
    configuredDistricts = serializers.ListField(child=serializers.CharField())
    scopeType = serializers.ChoiceField(choices=["system-wide", "targeted", "single-district"])
    validationPassed = serializers.BooleanField()


class LegacyDistrictProgressSerializer(serializers.Serializer):
    districtId = serializers.CharField()
    status = serializers.ChoiceField(choices=LEGACY_DISTRICT_STATUS_WORDS)
    datesProcessed = serializers.IntegerField()
    datesTotal = serializers.IntegerField()
    lastError = serializers.CharField(required=False)
    successfulDates = serializers.ListField(child=serializers.CharField())
    failedDates = serializers.ListField(child=serializers.CharField())
    retryCount = serializers.IntegerField()


class LegacyProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unavailable = serializers.IntegerField()
    failed = serializers.IntegerField()
    current = serializers.CharField(allow_blank=True)
    districtProgress = serializers.DictField(child=LegacyDistrictProgressSerializer())
    partialSnapshots = serializers.IntegerField()
    totalErrors = serializers.IntegerField()
    retryableErrors = serializers.IntegerField()
    permanentErrors = serializers.IntegerField()


class RefreshMethodSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(REFRESH_METHOD.values()))
    params = serializers.DictField()


class LegacyStrategySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=CollectionStrategy.values)
    refreshMethod = RefreshMethodSerializer()
    rationale = serializers.CharField()
    estimatedEfficiency = serializers.FloatField()
    targetDistricts = serializers.ListField(child=serializers.CharField(), required=False)


class LegacyErrorSummarySerializer(serializers.Serializer):
    totalErrors = serializers.IntegerField()
    retryableErrors = serializers.IntegerField()
    permanentErrors = serializers.IntegerField()
    affectedDistricts = serializers.ListField(child=serializers.CharField())
    partialSnapshots = serializers.IntegerField()


class LegacyPartialSnapshotSerializer(serializers.Serializer):
    snapshotId = serializers.CharField()
    successfulDistricts = serializers.ListField(child=serializers.CharField())
    failedDistricts = serializers.ListField(child=serializers.CharField())
    totalDistricts = serializers.IntegerField()
    successRate = serializers.FloatField()


class LegacyRateLimiterSerializer(serializers.Serializer):
    currentCount = serializers.IntegerField()
    maxRequests = serializers.IntegerField()
    windowMs = serializers.IntegerField()
    nextResetAt = serializers.CharField()


class LegacyConcurrencySerializer(serializers.Serializer):
    activeSlots = serializers.IntegerField()
    maxConcurrent = serializers.IntegerField()
    queueLength = serializers.IntegerField()


class LegacyCacheSerializer(serializers.Serializer):
    hitRate = serializers.FloatField()
    entryCount = serializers.IntegerField()
    sizeBytes = serializers.IntegerField()


class LegacyPerformanceSerializer(serializers.Serializer):
    rateLimiter = LegacyRateLimiterSerializer()
    concurrencyLimiter = LegacyConcurrencySerializer()
    intermediateCache = LegacyCacheSerializer()


class BackfillResponseSerializer(serializers.Serializer):
    backfillId = serializers.CharField()
    status = serializers.ChoiceField(choices=LEGACY_STATUS_WORDS)
    scope = LegacyScopeSerializer()
    progress = LegacyProgressSerializer()
    collectionStrategy = LegacyStrategySerializer()
    error = serializers.CharField(required=False)
    snapshotIds = serializers.ListField(child=serializers.CharField())
    errorSummary = LegacyErrorSummarySerializer()
    partialSnapshots = LegacyPartialSnapshotSerializer(many=True)
    performanceStatus = LegacyPerformanceSerializer()
    districtId = serializers.CharField(required=False)


class CancelResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    backfillId = serializers.CharField()
    districtId = serializers.CharField(required=False)


# --- Building the seed's BackfillResponse from the job's status ---------------------------


def backfill_response(job_id: object, *, district_id: str | None = None) -> dict[str, Any]:
    """The seed 001 BackfillResponse of a job (plain data, ready for the serializer)."""
    detail = selectors.job_detail(job_id=job_id, per_district=False)
    summary, progress, errors = detail.summary, detail.progress, detail.error_summary
    districts = {d.district_id: _district(d) for d in selectors.district_dates(job_id=job_id)}
    partial = []
    for snapshot in detail.partial_snapshots:
        ok, failed = selectors.partial_snapshot_districts(snapshot_id=snapshot.snapshot_id)
        total = len(ok) + len(failed)
        partial.append(
            {
                "snapshotId": snapshot.snapshot_id,
                "successfulDistricts": ok,
                "failedDistricts": failed,
                "totalDistricts": total,
                "successRate": round(len(ok) / total, 4) if total else 0.0,
            }
        )
    scope = detail.scope
    targets = scope.get("targetDistricts", [])
    strategy = {
        "type": summary.collection_strategy,
        "refreshMethod": {
            "name": REFRESH_METHOD.get(summary.collection_strategy, "getAllDistricts"),
            "params": {"districtIds": targets} if targets else {},
        },
        "rationale": detail.strategy_rationale,
        "estimatedEfficiency": detail.estimated_efficiency,
    }
    if targets:
        strategy["targetDistricts"] = targets
    body: dict[str, Any] = {
        "backfillId": summary.job_id,
        "status": LEGACY_STATUS.get(summary.status, "processing"),
        "scope": {
            "targetDistricts": targets,
            "configuredDistricts": scope.get("configuredDistricts", []),
            "scopeType": scope.get("scopeType", "system-wide"),
            "validationPassed": scope.get("validationPassed", True),
        },
        "progress": {
            "total": progress.total,
            "completed": progress.succeeded,
            "skipped": progress.skipped,
            "unavailable": progress.unavailable,
            "failed": progress.failed,
            "current": detail.current_date.isoformat() if detail.current_date else "",
            "districtProgress": districts,
            "partialSnapshots": errors["partialSnapshots"],
            "totalErrors": errors["totalErrors"],
            "retryableErrors": errors["retryableErrors"],
            "permanentErrors": errors["permanentErrors"],
        },
        "collectionStrategy": strategy,
        "snapshotIds": list(detail.snapshot_ids),
        "errorSummary": {
            key: errors[key]
            for key in (
                "totalErrors",
                "retryableErrors",
                "permanentErrors",
                "affectedDistricts",
                "partialSnapshots",
            )
        },
        "partialSnapshots": partial,
        "performanceStatus": _performance(detail.performance),
    }
    if summary.status in (JobStatus.FAILED, JobStatus.PARTIAL_SUCCESS) and errors["totalErrors"]:
        kinds = ", ".join(f"{k or 'unknown'}: {n}" for k, n in errors["byType"].items())
        body["error"] = f"{errors['totalErrors']} of {progress.total} units failed ({kinds})"
    if district_id is not None:
        body["districtId"] = district_id
    return body


def _district(d: selectors.DistrictDates) -> dict[str, Any]:
    collected = d.successful_dates or d.failed_dates
    if d.dates_processed < d.dates_total:
        # Dates planned skipped or unavailable are "processed" without any work starting.
        word = "processing" if d.running or collected else "pending"
    elif d.failed_dates:
        word = "failed"
    elif not d.successful_dates:
        word = "skipped"
    else:
        word = "completed"
    body = {
        "districtId": d.district_id,
        "status": word,
        "datesProcessed": d.dates_processed,
        "datesTotal": d.dates_total,
        "successfulDates": list(d.successful_dates),
        "failedDates": list(d.failed_dates),
        "retryCount": d.retry_count,
    }
    if d.last_error:
        body["lastError"] = d.last_error
    return body


def _performance(status_: dict[str, Any]) -> dict[str, Any]:
    limiter, cache = status_["rateLimiter"], status_["intermediateCache"]
    concurrency = status_["concurrency"]
    reset_ms = limiter["nextResetMs"] or 0
    return {
        "rateLimiter": {
            "currentCount": limiter["currentCount"] or 0,
            "maxRequests": limiter["maxRequests"],
            "windowMs": limiter["windowMs"],
            "nextResetAt": (timezone.now() + timedelta(milliseconds=reset_ms)).isoformat(),
        },
        "concurrencyLimiter": {
            "activeSlots": concurrency["active"],
            "maxConcurrent": concurrency["max"],
            "queueLength": concurrency["queued"],
        },
        "intermediateCache": {
            "hitRate": cache["hitRate"] or 0.0,
            "entryCount": cache["entries"] or 0,
            "sizeBytes": cache["bytes"] or 0,
        },
    }


# --- Views --------------------------------------------------------------------------------

SEED_EXAMPLES = [
    OpenApiExample(
        "Seed 000: initiate backfill",
        value={
            "startDate": "2024-01-01",
            "endDate": "2024-01-30",
            "targetDistricts": ["42", "15"],
            "collectionType": "auto",
            "concurrency": 3,
            "retryFailures": True,
            "enableCaching": True,
        },
        request_only=True,
    ),
    OpenApiExample(
        "Seed 000: system-wide",
        value={"startDate": "2024-01-01", "endDate": "2024-01-30"},
        request_only=True,
    ),
]


class LegacyApi(BackfillApi):
    """Deprecated: every answer names its successor and the sunset date."""

    successor = "backfill-job-create"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        deprecated = date.fromisoformat(settings.LEGACY_API_DEPRECATED_AT)
        epoch = int(datetime.combine(deprecated, datetime.min.time(), UTC).timestamp())
        response["Deprecation"] = f"@{epoch}"
        response["Sunset"] = _http_date(settings.LEGACY_API_SUNSET_AT)
        job_id = kwargs.get("backfillId")
        successor = (
            reverse("backfill-job-detail", args=[job_id], request=request)
            if job_id
            else reverse("backfill-job-create", request=request)
        )
        response["Link"] = f'<{successor}>; rel="successor-version"'
        return response


def _district_path(raw: str) -> str:
    try:
        return canonical_district_id(raw)
    except InvalidDistrictId as exc:
        raise ValidationError({"districtId": [str(exc)]}) from None


def _district_job(job_id: str, district_id: str) -> None:
    """404 unless the job is this district's one-district job (the old district pages)."""
    job = selectors.get_job(job_id=job_id)
    if job.scope.get("targetDistricts") != [district_id]:
        raise NotFound(f"Backfill {job_id} is not a backfill of district {district_id}.")


CREATE_RESPONSES = {
    202: BackfillResponseSerializer,
    200: OpenApiResponse(
        BackfillResponseSerializer,
        description="The backfill this Idempotency-Key created (same key, same body).",
    ),
    400: BAD_REQUEST,
    409: IDEMPOTENCY_CONFLICT,
    **WRITE_ERRORS,
}


def _created_status(created: bool) -> int:
    return status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK


class LegacyCreateApi(LegacyApi):
    required_permissions = {"POST": permissions.RUN_JOBS}

    @extend_schema(
        operation_id="legacy_backfill_create",
        request=contracts.BackfillRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses=CREATE_RESPONSES,
        examples=SEED_EXAMPLES,
        deprecated=True,
    )
    def post(self, request: Request) -> Response:
        job, created = create_job_once(
            request, body=request.data, entry_point="legacy", created_via=CreatedVia.LEGACY_API
        )
        return Response(backfill_response(job.pk), status=_created_status(created))


class LegacyDetailApi(LegacyApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="legacy_backfill_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={
            200: BackfillResponseSerializer,
            304: NOT_MODIFIED,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        deprecated=True,
    )
    def get(self, request: Request, backfillId: str) -> Response:
        return conditional(request, backfill_response(backfillId))

    @extend_schema(
        operation_id="legacy_backfill_cancel",
        responses={200: CancelResponseSerializer, 404: NOT_FOUND, 409: CONFLICT, **WRITE_ERRORS},
        deprecated=True,
    )
    def delete(self, request: Request, backfillId: str) -> Response:
        job = jobs.cancel_job(job=selectors.get_job(job_id=backfillId))
        return Response(
            {
                "success": True,
                "message": "Backfill cancelled successfully",
                "backfillId": str(job.pk),
            }
        )


class LegacyDistrictCreateApi(LegacyApi):
    required_permissions = {"POST": permissions.RUN_JOBS}

    @extend_schema(
        operation_id="legacy_district_backfill_create",
        request=contracts.BackfillRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses=CREATE_RESPONSES,
        examples=[
            OpenApiExample(
                "Seed 000: single district",
                value={"startDate": "2024-01-01", "collectionType": "per-district"},
                request_only=True,
            )
        ],
        deprecated=True,
        description="A one-district job; `targetDistricts`, if given, must be just this district.",
    )
    def post(self, request: Request, districtId: str) -> Response:
        district_id = districtId
        district = _district_path(district_id)
        data = request.data
        if isinstance(data, dict) and "targetDistricts" in data:
            given = data["targetDistricts"]
            if not isinstance(given, list) or [str(g).strip() for g in given] not in (
                [],
                [district_id],
                [district],
            ):
                raise ValidationError(
                    {
                        "targetDistricts": [
                            f"This route backfills district {district} only; leave "
                            "targetDistricts out."
                        ]
                    }
                )
        body = {**data, "targetDistricts": [district]} if isinstance(data, dict) else data
        job, created = create_job_once(
            request,
            body=body,
            entry_point=f"legacy-district:{district}",
            created_via=CreatedVia.LEGACY_API,
        )
        return Response(
            backfill_response(job.pk, district_id=district), status=_created_status(created)
        )


class LegacyDistrictDetailApi(LegacyApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="legacy_district_backfill_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={
            200: BackfillResponseSerializer,
            304: NOT_MODIFIED,
            400: BAD_REQUEST,
            404: NOT_FOUND,
            **AUTH_ERRORS,
        },
        deprecated=True,
    )
    def get(self, request: Request, districtId: str, backfillId: str) -> Response:
        district = _district_path(districtId)
        _district_job(backfillId, district)
        return conditional(request, backfill_response(backfillId, district_id=district))

    @extend_schema(
        operation_id="legacy_district_backfill_cancel",
        responses={
            200: CancelResponseSerializer,
            400: BAD_REQUEST,
            404: NOT_FOUND,
            409: CONFLICT,
            **WRITE_ERRORS,
        },
        deprecated=True,
    )
    def delete(self, request: Request, districtId: str, backfillId: str) -> Response:
        district = _district_path(districtId)
        _district_job(backfillId, district)
        job = jobs.cancel_job(job=selectors.get_job(job_id=backfillId))
        return Response(
            {
                "success": True,
                "message": "Backfill cancelled successfully",
                "backfillId": str(job.pk),
                "districtId": district,
            }
        )
