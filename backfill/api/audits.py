"""Audits of what is stored (staff only), under /api/admin/:

GET audits    the checks, newest first (`outcome`, `limit`, `offset`), and the count per outcome

The checks are made by the beat schedule or `manage.py snapshots_audit`
(backfill/services/audits.py); drift is reported here, never written over the stored data.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from backfill.models import AuditOutcome
from backfill.selectors import audits as audit_reads
from backfill_project import permissions
from backfill_project.api_errors import AUTH_ERRORS, BAD_REQUEST
from snapshots.api import StaffApi


class AuditSerializer(serializers.Serializer):
    date = serializers.DateField(source="logical_date")
    districtId = serializers.CharField(source="district_id")
    detail = serializers.CharField(help_text="summary or full, as stored")
    outcome = serializers.ChoiceField(choices=AuditOutcome.values)
    recordedSha256 = serializers.CharField(
        source="recorded_sha256", help_text="The manifest's, recorded when the file was written."
    )
    fetchedSha256 = serializers.CharField(
        source="fetched_sha256", allow_blank=True, help_text='"" when the re-fetch failed.'
    )
    differences = serializers.ListField(
        child=serializers.CharField(), help_text="Paths of the values that differ (drift)."
    )
    message = serializers.CharField(allow_blank=True)
    requests = serializers.IntegerField(source="requests_made")
    checkedAt = serializers.DateTimeField(source="checked_at")


class AuditListApi(StaffApi):
    required_permissions = {"GET": permissions.VIEW_AUDITS}

    class FilterSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=AuditOutcome.values, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
        offset = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)

    class ListSerializer(serializers.Serializer):
        audits = AuditSerializer(many=True)
        count = serializers.IntegerField(help_text="Checks matching the filter, all pages.")
        outcomes = serializers.DictField(
            child=serializers.IntegerField(), help_text="Every check's count per outcome."
        )
        limit = serializers.IntegerField()
        offset = serializers.IntegerField()

    @extend_schema(
        operation_id="audit_list",
        parameters=[FilterSerializer],
        responses={200: ListSerializer, 400: BAD_REQUEST, **AUTH_ERRORS},
        examples=[
            OpenApiExample(
                "Drift found",
                response_only=True,
                value={
                    "audits": [
                        {
                            "date": "2025-03-10",
                            "districtId": "42",
                            "detail": "full",
                            "outcome": "drift",
                            "recordedSha256": "9f2c...",
                            "fetchedSha256": "41ab...",
                            "differences": ["membership.active_members"],
                            "message": "1 value(s) differ from the stored file; re-collect the "
                            "date with reprocess=all to store the dashboard's current data",
                            "requests": 3,
                            "checkedAt": "2026-12-01T04:45:02Z",
                        }
                    ],
                    "count": 1,
                    "outcomes": {"match": 41, "drift": 1, "error": 0},
                    "limit": 50,
                    "offset": 0,
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        # A plain dict: from a QueryDict DRF reads `?status=` as no status at all.
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page, count, outcomes = audit_reads.audit_history(
            outcome=data.get("outcome"), limit=data["limit"], offset=data["offset"]
        )
        body = {
            "audits": page,
            "count": count,
            "outcomes": outcomes,
            "limit": data["limit"],
            "offset": data["offset"],
        }
        return Response(self.ListSerializer(body).data)
