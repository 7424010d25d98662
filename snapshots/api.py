"""Read endpoints of the snapshot store (staff only, JSON in camelCase).

GET snapshots?limit=&status=&from=&to=       index rows, newest first
GET snapshots/<date>                         the manifest of a date
GET snapshots/<date>/districts/<id>          one district's statistics
GET snapshot-store/health                    root writable, free space, count, problems,
                                             condition (full / read-only: dispatch paused)
GET snapshot-store/performance               timings, sizes, cache figures
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backfill_project import permissions
from districts.ids import InvalidDistrictId, canonical_district_id
from snapshots import selectors, store
from snapshots.models import SnapshotStatus
from snapshots.performance import WINDOW


class StaffApi(APIView):
    """Staff with the permissions the view lists per method (`required_permissions`, see
    backfill_project/permissions.py); a method not listed is refused. Reading snapshots needs
    `snapshots.view_snapshot`.

    Token authentication comes first so that a request without credentials gets a 401 with a
    `WWW-Authenticate: Token` challenge; with session authentication first DRF answers 403.
    """

    authentication_classes = (TokenAuthentication, SessionAuthentication)
    permission_classes = (IsAdminUser, permissions.HasPermissions)
    required_permissions = {"GET": permissions.VIEW_SNAPSHOTS}


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail": "..."}')
REFUSED = {401: ERROR, 403: ERROR}
BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": ["why", ...]}')


class SnapshotUnreadable(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "snapshot_unreadable"
    default_detail = "The stored snapshot could not be read; run snapshots_verify."


def _path_date(raw: str) -> date:
    """A malformed path value is a 400 naming the parameter; a well-formed one that names
    nothing stored is a 404 (the one rule of every route, README "API")."""
    try:
        if not ISO_DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"date": ["Enter a date as YYYY-MM-DD."]}) from None


def _path_district(raw: str) -> str:
    try:
        return canonical_district_id(raw)
    except InvalidDistrictId as exc:
        raise ValidationError({"district_id": [str(exc)]}) from None


def camelize(value: Any) -> Any:
    """snake_case keys to camelCase, recursively (`as_of_date` -> `asOfDate`)."""
    if isinstance(value, dict):
        return {_camel(str(k)): camelize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camelize(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class SnapshotListApi(StaffApi):
    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)
        status = serializers.ChoiceField(choices=SnapshotStatus.choices, required=False)

        def get_fields(self):
            fields = super().get_fields()
            # `from` is a Python keyword, so these two cannot be class attributes.
            fields["from"] = serializers.DateField(required=False)
            fields["to"] = serializers.DateField(required=False)
            return fields

        def validate(self, attrs):
            if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
                raise ValidationError({"to": ["Must not be before 'from'."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        date = serializers.DateField(source="logical_date")
        asOfDate = serializers.DateField(source="as_of_date")
        dataMonth = serializers.CharField(source="data_month")
        isClosingPeriod = serializers.BooleanField(source="is_closing_period")
        status = serializers.CharField()
        collectionStrategy = serializers.CharField(source="collection_strategy")
        scope = serializers.JSONField()
        districtCount = serializers.IntegerField(source="district_count")
        errorCount = serializers.IntegerField(source="error_count")
        sizeBytes = serializers.IntegerField(source="size_bytes")
        jobId = serializers.UUIDField(source="job_id")
        createdAt = serializers.DateTimeField(source="created_at")
        updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema(
        operation_id="snapshots_list",
        parameters=[
            OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
            ),
            OpenApiParameter("status", str, enum=SnapshotStatus.values),
            OpenApiParameter("from", OpenApiTypes.DATE, description="first date, inclusive"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last date, inclusive"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: BAD_REQUEST, **REFUSED},
    )
    def get(self, request: Request) -> Response:
        # A plain dict: from a QueryDict DRF reads `?status=` as no status at all.
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows, total = selectors.snapshot_list(
            limit=data["limit"],
            status=data.get("status"),
            date_from=data.get("from"),
            date_to=data.get("to"),
        )
        return Response(
            {
                "snapshots": self.OutputSerializer(rows, many=True).data,
                "count": total,
                "limit": data["limit"],
            }
        )


# A stored document's answers: the document, a malformed path (400), none stored (404), files
# that cannot be read (500).
STORED_FILE_RESPONSES = {
    200: OpenApiTypes.OBJECT,
    400: BAD_REQUEST,
    404: ERROR,
    500: OpenApiResponse(OpenApiTypes.OBJECT, description="The stored files are unreadable."),
    **REFUSED,
}


class SnapshotDetailApi(StaffApi):
    @extend_schema(
        operation_id="snapshots_retrieve",
        responses=STORED_FILE_RESPONSES,
    )
    def get(self, request: Request, date: str) -> Response:
        logical_date = _path_date(date)
        try:
            manifest = selectors.snapshot_manifest(logical_date=logical_date)
        except store.SnapshotStoreError as exc:
            raise SnapshotUnreadable() from exc
        if manifest is None:
            raise NotFound(f"No snapshot for {logical_date.isoformat()}.")
        return Response(manifest)


class SnapshotDistrictApi(StaffApi):
    @extend_schema(
        operation_id="snapshots_district_retrieve",
        responses=STORED_FILE_RESPONSES,
    )
    def get(self, request: Request, date: str, district_id: str) -> Response:
        logical_date = _path_date(date)
        district_id = _path_district(district_id)
        try:
            statistics = selectors.snapshot_district(
                logical_date=logical_date, district_id=district_id
            )
        except store.SnapshotStoreError as exc:
            raise SnapshotUnreadable() from exc
        if statistics is None:
            raise NotFound(f"No district {district_id} in the snapshot of {logical_date}.")
        return Response(camelize(statistics.to_dict()))


class StoreHealthApi(StaffApi):
    @extend_schema(
        operation_id="snapshot_store_health", responses={200: OpenApiTypes.OBJECT, **REFUSED}
    )
    def get(self, request: Request) -> Response:
        health = selectors.store_health()
        return Response(
            {
                "status": "healthy" if health.healthy else "degraded",
                "location": health.location,
                "writable": health.writable,
                "freeSpaceBytes": health.free_space_bytes,
                "snapshotCount": health.snapshot_count,
                "lastCompletedDate": health.last_completed_date,
                "problems": list(health.problems),
                "condition": health.condition.as_dict() if health.condition else None,
            }
        )


class StorePerformanceApi(StaffApi):
    @extend_schema(
        operation_id="snapshot_store_performance", responses={200: OpenApiTypes.OBJECT, **REFUSED}
    )
    def get(self, request: Request) -> Response:
        figures = selectors.store_performance()
        operations = (
            {_camel(name): camelize(asdict(f)) for name, f in figures.operations.items()}
            if figures.operations is not None
            else None
        )
        cache = None
        if figures.cache is not None:
            lookups = figures.cache.hits + figures.cache.misses
            cache = {
                "hits": figures.cache.hits,
                "misses": figures.cache.misses,
                "hitRate": round(figures.cache.hits / lookups, 4) if lookups else None,
            }
        return Response(
            {
                "operations": operations,
                "window": WINDOW,
                "cache": {
                    **(cache or {"hits": None, "misses": None, "hitRate": None}),
                    "entries": figures.cache_entries,
                    "capacity": figures.cache_capacity,
                    "note": "hits and misses are summed over every process; each process "
                    "keeps its own cache of parsed district files, entries counts this one",
                },
                "sizes": {
                    "snapshots": figures.snapshot_count,
                    "totalBytes": figures.total_bytes,
                    "averageSnapshotBytes": figures.average_snapshot_bytes,
                    "largestSnapshotBytes": figures.largest_snapshot_bytes,
                },
                "problems": list(figures.problems),
            }
        )
