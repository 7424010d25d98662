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
Errors answer the old backend's shape, which the old front end reads
(`error.response.data.error.message`): `{"error": {"code", "message", "details"}}` with the
status codes of the job API (`legacy_error`). The district routes echo the district id as the
path wrote it (`06` stays `06`) and take `targetDistricts` in either spelling. These routes
start data collections only: `jobType: analytics-generation` is a 400 naming `jobType`.
Staff only, like the rest of the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ParseError, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from backfill import contracts, selectors
from backfill.models import BackfillJob, CollectionStrategy, CreatedVia, JobStatus, JobType
from backfill.services import jobs
from backfill_project import permissions
from districts.ids import InvalidDistrictId, canonical_district_id

from .jobs import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    BackfillApi,
    create_job_once,
    versioned,
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


# --- Errors in the old backend's shape -----------------------------------------------------

# The error codes of the legacy routes, by status; a 409 keeps its own code in upper case
# (`JOB_STATE_CONFLICT`, `IDEMPOTENCY_KEY_REUSED`), other statuses fall back to their name.
LEGACY_ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}
MALFORMED_REQUEST = "MALFORMED_REQUEST"
LEGACY_ERROR_CODE_CHOICES = [
    *LEGACY_ERROR_CODES.values(),
    MALFORMED_REQUEST,
    "JOB_STATE_CONFLICT",
    "IDEMPOTENCY_KEY_REUSED",
]


class LegacyErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=LEGACY_ERROR_CODE_CHOICES, help_text="Upper-snake, one per kind of error."
    )
    message = serializers.CharField(
        help_text='One sentence for people; a 400 names the first bad field: "startDate: ...".'
    )
    details = serializers.DictField(
        help_text="400: each bad field with its messages. 409: `jobId`, `action`, `status` "
        "(the job's state) or, for a reused Idempotency-Key, `jobId`. 429: `retryAfterSeconds`."
        " Otherwise empty."
    )


class LegacyErrorSerializer(serializers.Serializer):
    """The old backend's error body, read by the old front end as `error.message`."""

    error = LegacyErrorBodySerializer()


def legacy_error(exc: Exception, status_code: int, data: Any) -> dict[str, Any]:
    """The old backend's `{"error": {"code", "message", "details"}}` of an error the job API
    answers with `data` (`{"field": [...]}` or `{"detail": ..., ...}`)."""
    data = dict(data) if isinstance(data, Mapping) else {"detail": data}
    details: dict[str, Any] = {}
    if isinstance(exc, ParseError):
        code, message = MALFORMED_REQUEST, str(data.get("detail", ""))
    elif status_code == status.HTTP_400_BAD_REQUEST:
        code, details = LEGACY_ERROR_CODES[400], data
        message = _first_message(data)
    else:
        message = str(data.pop("detail", "") or HTTPStatus(status_code).phrase)
        own = data.pop("code", None)
        default = LEGACY_ERROR_CODES.get(status_code, HTTPStatus(status_code).name)
        code = str(own).upper() if own and status_code == status.HTTP_409_CONFLICT else default
        details = data if status_code < 500 else {}
        if isinstance(exc, Throttled) and exc.wait is not None:
            details["retryAfterSeconds"] = int(exc.wait)
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(errors: Any, path: str = "") -> str:
    """ "startDate: Enter a valid date." for the first bad field (nested: `targetDistricts[0]`)."""
    if isinstance(errors, Mapping) and errors:
        key, found = next(iter(errors.items()))
        if key in ("non_field_errors", "detail"):
            name = path
        elif path:
            name = f"{path}[{key}]" if str(key).isdigit() else f"{path}.{key}"
        else:
            name = str(key)
        return _first_message(found, name)
    if isinstance(errors, list | tuple) and errors:
        return _first_message(errors[0], path)
    text = str(errors) if errors not in (None, "", [], {}) else "Invalid request."
    return f"{path}: {text}" if path else text


def _legacy_errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: 'A bad field: `details` has each bad field with its messages ({"startDate": '
        '["..."]}), `message` names the first.',
        401: "No or bad credentials.",
        403: "Not staff, without the permission, or CSRF failed.",
        404: "No such backfill (for this district).",
        409: "The job's state forbids it, or the Idempotency-Key was used for another body.",
        413: "Body over 2.5 MB.",
        429: "Throttled.",
    }
    return {
        code: OpenApiResponse(LegacyErrorSerializer, description=descriptions[code])
        for code in codes
    }


READ_ERRORS = _legacy_errors(401, 403, 404)
WRITE_ERRORS = _legacy_errors(401, 403, 413, 429)


# --- Building the seed's BackfillResponse from the job's status ---------------------------


def backfill_response(
    version: selectors.JobVersion, *, district_id: str | None = None
) -> dict[str, Any]:
    """The seed 001 BackfillResponse of a job at `version` (plain data, ready for the
    serializer)."""
    detail = selectors.job_detail(
        job=version.job, per_district=False, performance=version.performance
    )
    summary, progress, errors = detail.summary, detail.progress, detail.error_summary
    districts = {d.district_id: _district(d) for d in selectors.district_dates(version=version)}
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

    def get_exception_handler(self):
        handler = super().get_exception_handler()

        def legacy_handler(exc, context):
            response = handler(exc, context)
            if response is not None:
                response.data = legacy_error(exc, response.status_code, response.data)
            return response

        return legacy_handler

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


def _district_body(data: Any, district: str) -> Any:
    """The body of a district route's create, for `district` only: `targetDistricts`, if
    given, must name just this district, in either spelling (`6`, `06`)."""
    if not isinstance(data, Mapping):
        return data
    given = data.get("targetDistricts") or []
    if not (isinstance(given, list) and all(isinstance(g, str) for g in given)):
        raise ValidationError(
            {
                "targetDistricts": [
                    f'Expected a list of district ids as strings, e.g. ["{district}"].'
                ]
            }
        )
    for raw in given:
        try:
            canonical = canonical_district_id(raw)
        except InvalidDistrictId as exc:
            raise ValidationError({"targetDistricts": [str(exc)]}) from None
        if canonical != district:
            raise ValidationError(
                {
                    "targetDistricts": [
                        f"This route backfills district {district} only; leave targetDistricts out."
                    ]
                }
            )
    return {**data, "targetDistricts": [district]}


def _data_collection_only(data: Any) -> None:
    """The old client knows data collections only: analytics-generation is a 400 (with the
    body's other errors as a data collection)."""
    if not (isinstance(data, Mapping) and data.get("jobType") == JobType.ANALYTICS_GENERATION):
        return
    errors: dict[str, Any] = {
        "jobType": [
            "The legacy routes start data collections only; start analytics-generation "
            "with POST /api/admin/backfill."
        ]
    }
    others = contracts.BackfillRequestSerializer(data={**data, "jobType": JobType.DATA_COLLECTION})
    if not others.is_valid():
        errors.update(others.errors)
    raise ValidationError(errors)


def _district_job(job: BackfillJob, district_id: str) -> None:
    """404 unless the job is this district's one-district job (the old district pages)."""
    if job.scope.get("targetDistricts") != [district_id]:
        raise NotFound(f"Backfill {job.pk} is not a backfill of district {district_id}.")


def legacy_status(
    request: Request, job_id: str, *, district_id: str | None = None, district: str = ""
) -> Response:
    """The legacy status of a job, with an ETag from its version: a 304 builds no body.
    `district` (canonical) restricts it to that district's one-district job."""
    version = selectors.job_version(job_id=job_id)
    if district:
        _district_job(version.job, district)
    return versioned(
        request,
        version.digest("legacy", district_id),
        lambda: backfill_response(version, district_id=district_id),
    )


def _created(job: BackfillJob, created: bool, *, district_id: str | None = None) -> Response:
    body = backfill_response(selectors.job_version(job_id=job.pk), district_id=district_id)
    return Response(body, status=_created_status(created))


CREATE_RESPONSES = {
    202: BackfillResponseSerializer,
    200: OpenApiResponse(
        BackfillResponseSerializer,
        description="The backfill this Idempotency-Key created (same key, same body).",
    ),
    **_legacy_errors(400, 409),
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
        _data_collection_only(request.data)
        job, created = create_job_once(
            request, body=request.data, entry_point="legacy", created_via=CreatedVia.LEGACY_API
        )
        return _created(job, created)


class LegacyDetailApi(LegacyApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="legacy_backfill_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={200: BackfillResponseSerializer, 304: NOT_MODIFIED, **READ_ERRORS},
        deprecated=True,
    )
    def get(self, request: Request, backfillId: str) -> Response:
        return legacy_status(request, backfillId)

    @extend_schema(
        operation_id="legacy_backfill_cancel",
        responses={200: CancelResponseSerializer, **_legacy_errors(404, 409), **WRITE_ERRORS},
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
        description="A one-district job; `targetDistricts`, if given, must be just this district "
        "(`6` or `06`). `districtId` in the answers is the path's, as written.",
    )
    def post(self, request: Request, districtId: str) -> Response:
        district = _district_path(districtId)
        body = _district_body(request.data, district)
        _data_collection_only(body)
        job, created = create_job_once(
            request,
            body=body,
            entry_point=f"legacy-district:{district}",
            created_via=CreatedVia.LEGACY_API,
        )
        # The id as the client wrote it in the path, so that it compares equal with its URL.
        return _created(job, created, district_id=districtId)


class LegacyDistrictDetailApi(LegacyApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="legacy_district_backfill_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={
            200: BackfillResponseSerializer,
            304: NOT_MODIFIED,
            **_legacy_errors(400),
            **READ_ERRORS,
        },
        deprecated=True,
    )
    def get(self, request: Request, districtId: str, backfillId: str) -> Response:
        district = _district_path(districtId)
        return legacy_status(request, backfillId, district_id=districtId, district=district)

    @extend_schema(
        operation_id="legacy_district_backfill_cancel",
        responses={
            200: CancelResponseSerializer,
            **_legacy_errors(400, 404, 409),
            **WRITE_ERRORS,
        },
        deprecated=True,
    )
    def delete(self, request: Request, districtId: str, backfillId: str) -> Response:
        district = _district_path(districtId)
        job = selectors.get_job(job_id=backfillId)
        _district_job(job, district)
        job = jobs.cancel_job(job=job)
        return Response(
            {
                "success": True,
                "message": "Backfill cancelled successfully",
                "backfillId": str(job.pk),
                "districtId": districtId,
            }
        )
