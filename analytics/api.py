"""The analytics read API (staff only, JSON in camelCase), under /api/admin/:

GET analytics                                   what is generated: districts with their program
                                                years, ranking dates per program year
GET analytics/districts/<district_id>?programYear=   a district's time series of a program year
                                                (omitted: the latest), + availableProgramYears
GET analytics/rankings?date=                    the rankings of a snapshot date (omitted: the
                                                latest), + previousDate, nextDate, availableDates

The documents are answered as stored (their formats: analytics/documents.py), with what
the index adds (other program years or dates, when and by which job it was generated). The
serializers below document them in the schema. Input is validated by `backfill.contracts`;
`AnalyticsNotFound` becomes a 404 in `backfill_project.exceptions`.
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
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from backfill_project import permissions
from backfill_project.api_errors import AUTH_ERRORS, BAD_REQUEST
from snapshots.api import StaffApi
from snapshots.store import SnapshotStoreError

from . import contracts, selectors
from .documents import RANKING_CATEGORIES
from .models import AnalyticsKind


class AnalyticsUnreadable(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "analytics_unreadable"
    default_detail = (
        "The stored analytics document could not be read; generate it again with an "
        "analytics-generation job."
    )


# --- The documents, for the schema ----------------------------------------------------------


class MembershipSerializer(serializers.Serializer):
    active = serializers.IntegerField(allow_null=True)
    base = serializers.IntegerField(allow_null=True)
    netGrowth = serializers.IntegerField(allow_null=True)


class PaymentsSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True)
    growthPercent = serializers.FloatField(allow_null=True)


class DistinguishedClubsSerializer(serializers.Serializer):
    distinguished = serializers.IntegerField(allow_null=True)
    select = serializers.IntegerField(allow_null=True)
    presidents = serializers.IntegerField(allow_null=True)
    smedley = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True, help_text="total / active clubs x 100")


class ClubsByStatusSerializer(serializers.Serializer):
    active = serializers.IntegerField(
        allow_null=True, help_text="Clubs whose status is Active; null for summary data"
    )
    low = serializers.IntegerField(allow_null=True)
    suspended = serializers.IntegerField(allow_null=True)
    ineligible = serializers.IntegerField(allow_null=True)


class SeriesPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    asOfDate = serializers.DateField()
    dataMonth = serializers.CharField(help_text="YYYY-MM")
    detail = serializers.CharField(help_text="summary or full")
    membership = MembershipSerializer()
    paidClubs = serializers.IntegerField(allow_null=True)
    activeClubs = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="Clubs not suspended (the summary's Active Clubs); absent from documents "
        "generated before it existed",
    )
    payments = PaymentsSerializer()
    distinguishedClubs = DistinguishedClubsSerializer()
    clubsByStatus = ClubsByStatusSerializer()


class ExtremeSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = serializers.FloatField()


class MetricSummarySerializer(serializers.Serializer):
    first = serializers.FloatField(allow_null=True)
    last = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True)
    best = ExtremeSerializer(allow_null=True, help_text="Highest value, earliest date on a tie.")
    worst = ExtremeSerializer(allow_null=True, help_text="Lowest value, earliest date on a tie.")


class MetricsSerializer(serializers.Serializer):
    activeMembers = MetricSummarySerializer()
    paidClubs = MetricSummarySerializer()
    totalPayments = MetricSummarySerializer()
    totalDistinguished = MetricSummarySerializer()
    distinguishedPercent = MetricSummarySerializer()


class YearSummarySerializer(serializers.Serializer):
    daysWithData = serializers.IntegerField()
    firstDate = serializers.DateField(allow_null=True)
    lastDate = serializers.DateField(allow_null=True)
    metrics = MetricsSerializer()


class IndexedSerializer(serializers.Serializer):
    generatedAt = serializers.DateTimeField(
        allow_null=True, help_text="When it was written (null: the file is not indexed)."
    )
    jobId = serializers.UUIDField(allow_null=True, help_text="The job that wrote it.")


class DistrictSeriesSerializer(IndexedSerializer):
    schemaVersion = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[AnalyticsKind.DISTRICT_TIME_SERIES.value])
    districtId = serializers.CharField()
    programYear = serializers.CharField()
    snapshotDates = serializers.IntegerField(help_text="Dates with a district file read.")
    missingDates = serializers.ListField(
        child=serializers.DateField(), help_text="Snapshot dates without this district."
    )
    partialDates = serializers.ListField(
        child=serializers.DateField(), help_text="Dates read whose snapshot is not completed."
    )
    series = SeriesPointSerializer(many=True, help_text="One point per date, oldest first.")
    summary = YearSummarySerializer()
    availableProgramYears = serializers.ListField(
        child=serializers.CharField(), help_text="Generated program years of the district."
    )


class RankingEntrySerializer(serializers.Serializer):
    districtId = serializers.CharField()
    overallRank = serializers.IntegerField(help_text="Competition rank of totalPoints.")
    totalPoints = serializers.IntegerField()
    values = serializers.DictField(child=serializers.FloatField(allow_null=True))
    ranks = serializers.DictField(
        child=serializers.IntegerField(allow_null=True), help_text="1 = highest; ties share."
    )
    points = serializers.DictField(
        child=serializers.IntegerField(), help_text="N - rank + 1; 0 where every district ties."
    )


class RankingsSerializer(IndexedSerializer):
    schemaVersion = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[AnalyticsKind.RANKINGS.value])
    date = serializers.DateField()
    programYear = serializers.CharField()
    districtCount = serializers.IntegerField()
    categories = serializers.ListField(child=serializers.CharField())
    rankings = RankingEntrySerializer(many=True, help_text="By overallRank, then district.")
    previousDate = serializers.DateField(allow_null=True, help_text="The ranking date before.")
    nextDate = serializers.DateField(allow_null=True, help_text="The ranking date after.")
    availableDates = serializers.ListField(
        child=serializers.DateField(), help_text="The ranking dates of the program year."
    )


class NotFoundSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is missing and how to generate it.")
    code = serializers.CharField()


class DistrictNotFoundSerializer(NotFoundSerializer):
    availableProgramYears = serializers.ListField(child=serializers.CharField())


class RankingsNotFoundSerializer(NotFoundSerializer):
    previousDate = serializers.DateField(allow_null=True)
    nextDate = serializers.DateField(allow_null=True)


UNREADABLE = OpenApiResponse(
    OpenApiTypes.OBJECT, description="The stored document is unreadable; generate it again."
)

SERIES_EXAMPLE = {
    "schemaVersion": 1,
    "kind": "district-time-series",
    "districtId": "42",
    "programYear": "2024-2025",
    "snapshotDates": 2,
    "missingDates": ["2024-07-03"],
    "partialDates": [],
    "series": [
        {
            "date": "2024-07-01",
            "asOfDate": "2024-07-01",
            "dataMonth": "2024-07",
            "detail": "full",
            "membership": {"active": 5312, "base": 5400, "netGrowth": -88},
            "paidClubs": 201,
            "activeClubs": 196,
            "payments": {"total": 120, "growthPercent": -12.5},
            "distinguishedClubs": {
                "distinguished": 3,
                "select": 1,
                "presidents": 0,
                "smedley": 0,
                "total": 4,
                "percent": 2.04,
            },
            "clubsByStatus": {"active": 190, "low": 6, "suspended": 5, "ineligible": 0},
        }
    ],
    "summary": {
        "daysWithData": 1,
        "firstDate": "2024-07-01",
        "lastDate": "2024-07-01",
        "metrics": {
            name: {
                "first": value,
                "last": value,
                "change": 0,
                "best": {"date": "2024-07-01", "value": value},
                "worst": {"date": "2024-07-01", "value": value},
            }
            for name, value in (
                ("activeMembers", 5312),
                ("paidClubs", 201),
                ("totalPayments", 120),
                ("totalDistinguished", 4),
                ("distinguishedPercent", 1.9),
            )
        },
    },
    "availableProgramYears": ["2024-2025", "2023-2024"],
    "generatedAt": "2025-07-02T06:31:12Z",
    "jobId": "6f1c3a52-2f4e-4a43-9d0e-1f7f1c2b9a10",
}
RANKINGS_EXAMPLE = {
    "schemaVersion": 1,
    "kind": "rankings",
    "date": "2025-01-31",
    "programYear": "2024-2025",
    "districtCount": 2,
    "categories": list(RANKING_CATEGORIES),
    "rankings": [
        {
            "districtId": "42",
            "overallRank": 1,
            "totalPoints": 6,
            "values": {
                "clubGrowthPercent": 4.1,
                "paymentGrowthPercent": 7.0,
                "distinguishedPercent": 38.2,
            },
            "ranks": dict.fromkeys(RANKING_CATEGORIES, 1),
            "points": dict.fromkeys(RANKING_CATEGORIES, 2),
        },
        {
            "districtId": "61",
            "overallRank": 2,
            "totalPoints": 3,
            "values": {
                "clubGrowthPercent": -1.0,
                "paymentGrowthPercent": 2.5,
                "distinguishedPercent": 20.0,
            },
            "ranks": dict.fromkeys(RANKING_CATEGORIES, 2),
            "points": dict.fromkeys(RANKING_CATEGORIES, 1),
        },
    ],
    "previousDate": "2025-01-30",
    "nextDate": None,
    "availableDates": ["2024-07-01", "2025-01-30", "2025-01-31"],
    "generatedAt": "2025-02-01T06:31:12Z",
    "jobId": "6f1c3a52-2f4e-4a43-9d0e-1f7f1c2b9a10",
}


def _indexed(result: Any) -> dict[str, Any]:
    return {"generatedAt": result.generated_at, "jobId": result.job_id}


# --- Views ----------------------------------------------------------------------------------


class DistrictYearsSerializer(serializers.Serializer):
    districtId = serializers.CharField(source="district_id")
    programYears = serializers.ListField(
        source="program_years", child=serializers.CharField(), help_text="Newest first."
    )


class RankingYearSerializer(serializers.Serializer):
    programYear = serializers.CharField(source="program_year")
    count = serializers.IntegerField()
    firstDate = serializers.DateField(source="first_date")
    lastDate = serializers.DateField(source="last_date")


class AnalyticsIndexSerializer(serializers.Serializer):
    districtTimeSeries = serializers.IntegerField(
        source="district_series_count", help_text="Documents: one per district and year."
    )
    rankings = serializers.IntegerField(source="rankings_count", help_text="Ranking dates.")
    programYears = serializers.ListField(
        source="program_years", child=serializers.CharField(), help_text="Newest first."
    )
    districts = DistrictYearsSerializer(many=True, help_text="In district order.")
    rankingYears = RankingYearSerializer(
        source="ranking_years", many=True, help_text="Newest first."
    )
    latestRankingDate = serializers.DateField(source="latest_ranking_date", allow_null=True)
    lastGeneratedAt = serializers.DateTimeField(source="last_generated_at", allow_null=True)


class AnalyticsIndexApi(StaffApi):
    required_permissions = {"GET": permissions.VIEW_ANALYTICS}

    @extend_schema(
        operation_id="analytics_index",
        responses={200: AnalyticsIndexSerializer, **AUTH_ERRORS},
        description="What analytics have been generated (from the index): the district time "
        "series with their program years, the ranking dates per program year.",
        examples=[
            OpenApiExample(
                "Two districts, one program year",
                value={
                    "districtTimeSeries": 2,
                    "rankings": 3,
                    "programYears": ["2024-2025"],
                    "districts": [
                        {"districtId": "42", "programYears": ["2024-2025"]},
                        {"districtId": "61", "programYears": ["2024-2025"]},
                    ],
                    "rankingYears": [
                        {
                            "programYear": "2024-2025",
                            "count": 3,
                            "firstDate": "2024-07-01",
                            "lastDate": "2025-01-31",
                        }
                    ],
                    "latestRankingDate": "2025-01-31",
                    "lastGeneratedAt": "2025-02-01T06:31:12Z",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(AnalyticsIndexSerializer(selectors.analytics_index()).data)


class DistrictAnalyticsApi(StaffApi):
    required_permissions = {"GET": permissions.VIEW_ANALYTICS}

    @extend_schema(
        operation_id="analytics_district_retrieve",
        parameters=[
            OpenApiParameter(
                "district_id", str, OpenApiParameter.PATH, description="42, 02 (= 2) or F."
            ),
            OpenApiParameter(
                "programYear",
                str,
                pattern=r"^\d{4}-\d{4}$",
                description="2024-2025 (consecutive years); omitted: the latest generated.",
            ),
        ],
        responses={
            200: DistrictSeriesSerializer,
            400: BAD_REQUEST,
            404: OpenApiResponse(
                DistrictNotFoundSerializer,
                description="Nothing generated for the district (or that program year); the "
                "message says how to generate it.",
            ),
            500: UNREADABLE,
            **AUTH_ERRORS,
        },
        description="The stored time series of a district's program year: one point per "
        "snapshot date (membership, paid clubs, payments, distinguished clubs, clubs by "
        "status), the missing and partial dates, the year's summary; with the district's "
        "other generated program years.",
        examples=[OpenApiExample("District 42", value=SERIES_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, district_id: str) -> Response:
        query = contracts.DistrictAnalyticsQuerySerializer(
            data={**request.query_params.dict(), "district_id": district_id}
        )
        query.is_valid(raise_exception=True)
        try:
            result = selectors.district_analytics(
                district_id=query.validated_data["district_id"],
                program_year=query.validated_data.get("programYear"),
            )
        except SnapshotStoreError as exc:
            raise AnalyticsUnreadable() from exc
        return Response(
            {
                **result.document,
                "availableProgramYears": list(result.available_program_years),
                **_indexed(result),
            }
        )


class RankingsApi(StaffApi):
    required_permissions = {"GET": permissions.VIEW_ANALYTICS}

    @extend_schema(
        operation_id="analytics_rankings_retrieve",
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, description="YYYY-MM-DD; omitted: the latest."
            )
        ],
        responses={
            200: RankingsSerializer,
            400: BAD_REQUEST,
            404: OpenApiResponse(
                RankingsNotFoundSerializer,
                description="No rankings for the date; the nearest generated dates and how to "
                "generate it.",
            ),
            500: UNREADABLE,
            **AUTH_ERRORS,
        },
        description="The rankings of every district on a snapshot date (club growth %, "
        "payment growth %, distinguished %; Borda points), with the previous and next ranking "
        "dates and the program year's ranking dates.",
        examples=[OpenApiExample("2025-01-31", value=RANKINGS_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = contracts.RankingsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        try:
            result = selectors.rankings_analytics(logical_date=query.validated_data.get("date"))
        except SnapshotStoreError as exc:
            raise AnalyticsUnreadable() from exc
        return Response(
            {
                **result.document,
                "previousDate": result.previous_date,
                "nextDate": result.next_date,
                "availableDates": list(result.available_dates),
                **_indexed(result),
            }
        )
