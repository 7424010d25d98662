"""The legacy backfill routes (seeds 000 and 001), kept working on top of the same services:

POST   /api/districts/backfill                                  create
GET    /api/districts/backfill/<backfill_id>                     the seeds' BackfillResponse
DELETE /api/districts/backfill/<backfill_id>                     cancel
POST   /api/districts/<district_id>/backfill                     a one-district job
GET    /api/districts/<district_id>/backfill/<backfill_id>        ... with `districtId`
DELETE /api/districts/<district_id>/backfill/<backfill_id>

Requests go through the one input contract (`backfill.contracts`), so a legacy body means what it
means on the job API. Job states are published as the legacy status words (DESIGN.md section 4).
Every answer, errors included, carries `Deprecation`, `Sunset` and a `Link` to the successor.
Errors answer the old backend's shape, which the old front end reads
(`error.response.data.error.message`): `{"error": {"code", "message", "details"}}` with the
status codes of the job API (`legacy_error`). The district routes echo the district id as the
path wrote it (`06` stays `06`) and take `targetDistricts` in either spelling. These routes
start data collections only: `jobType` analytics-generation, publish or import is a 400 naming
`jobType`.
Staff only, like the rest of the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from backfill import contracts
from backfill.models import BackfillJob, CreatedVia, JobType
from backfill.selectors import jobs as job_reads
from backfill.services import actions
from backfill_project import permissions
from districts.ids import InvalidDistrictId, canonical_district_id

from . import legacy_responses
from .conditional import ETAG, IF_NONE_MATCH, NOT_MODIFIED, versioned
from .jobs import IDEMPOTENCY_KEY, BackfillApi, create_job_once
from .legacy_errors import READ_ERRORS, WRITE_ERRORS, legacy_error, legacy_error_responses
from .legacy_serializers import BackfillResponseSerializer, CancelResponseSerializer


def _http_date(day: str) -> str:
    return format_datetime(
        datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC), True
    )


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
        job_id = kwargs.get("backfill_id")
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


# The job types the legacy routes refuse by name (any other value is the contract's error).
OTHER_JOB_TYPES = (JobType.ANALYTICS_GENERATION, JobType.PUBLISH, JobType.IMPORT)


def _data_collection_only(data: Any) -> None:
    """The old client knows data collections only: analytics-generation, publish and import are
    a 400 (with the body's other errors as a data collection)."""
    if not isinstance(data, Mapping) or data.get("jobType") not in OTHER_JOB_TYPES:
        return
    errors: dict[str, Any] = {
        "jobType": [
            f"The legacy routes start data collections only; start {data['jobType']} "
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
    version = job_reads.job_version(job_id=job_id)
    if district:
        _district_job(version.job, district)
    return versioned(
        request,
        version.digest("legacy", district_id, legacy=True),
        lambda: legacy_responses.backfill_response(version, district_id=district_id),
    )


def _created(job: BackfillJob, created: bool, *, district_id: str | None = None) -> Response:
    body = legacy_responses.backfill_response(
        job_reads.job_version(job_id=job.pk), district_id=district_id
    )
    return Response(body, status=_created_status(created))


CREATE_RESPONSES = {
    202: BackfillResponseSerializer,
    200: OpenApiResponse(
        BackfillResponseSerializer,
        description="The backfill this Idempotency-Key created (same key, same body).",
    ),
    **legacy_error_responses(400, 409),
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
    def get(self, request: Request, backfill_id: str) -> Response:
        return legacy_status(request, backfill_id)

    @extend_schema(
        operation_id="legacy_backfill_cancel",
        responses={
            200: CancelResponseSerializer,
            **legacy_error_responses(404, 409),
            **WRITE_ERRORS,
        },
        deprecated=True,
    )
    def delete(self, request: Request, backfill_id: str) -> Response:
        job = actions.cancel_job(job=job_reads.get_job(job_id=backfill_id))
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
    def post(self, request: Request, district_id: str) -> Response:
        district = _district_path(district_id)
        body = _district_body(request.data, district)
        _data_collection_only(body)
        job, created = create_job_once(
            request,
            body=body,
            entry_point=f"legacy-district:{district}",
            created_via=CreatedVia.LEGACY_API,
        )
        # The id as the client wrote it in the path, so that it compares equal with its URL.
        return _created(job, created, district_id=district_id)


class LegacyDistrictDetailApi(LegacyApi):
    required_permissions = {"GET": permissions.VIEW_JOBS, "DELETE": permissions.CONTROL_JOBS}

    @extend_schema(
        operation_id="legacy_district_backfill_retrieve",
        parameters=[IF_NONE_MATCH, ETAG],
        responses={
            200: BackfillResponseSerializer,
            304: NOT_MODIFIED,
            **legacy_error_responses(400),
            **READ_ERRORS,
        },
        deprecated=True,
    )
    def get(self, request: Request, district_id: str, backfill_id: str) -> Response:
        district = _district_path(district_id)
        return legacy_status(request, backfill_id, district_id=district_id, district=district)

    @extend_schema(
        operation_id="legacy_district_backfill_cancel",
        responses={
            200: CancelResponseSerializer,
            **legacy_error_responses(400, 404, 409),
            **WRITE_ERRORS,
        },
        deprecated=True,
    )
    def delete(self, request: Request, district_id: str, backfill_id: str) -> Response:
        district = _district_path(district_id)
        job = job_reads.get_job(job_id=backfill_id)
        _district_job(job, district)
        job = actions.cancel_job(job=job)
        return Response(
            {
                "success": True,
                "message": "Backfill cancelled successfully",
                "backfillId": str(job.pk),
                "districtId": district_id,
            }
        )
