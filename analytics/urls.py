"""The analytics API, included by the project under `api/admin/` (analytics.api)."""

from django.urls import path

from analytics import api

urlpatterns = [
    path("analytics", api.AnalyticsIndexApi.as_view(), name="analytics-index"),
    path("analytics/rankings", api.RankingsApi.as_view(), name="analytics-rankings"),
    path(
        "analytics/districts/<str:district_id>",
        api.DistrictAnalyticsApi.as_view(),
        name="analytics-district",
    ),
]
