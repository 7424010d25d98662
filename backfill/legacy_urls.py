"""The legacy backfill routes (backfill.api.legacy), included under `api/districts/`."""

from django.urls import path

from backfill.api import legacy

urlpatterns = [
    path("backfill", legacy.LegacyCreateApi.as_view(), name="legacy-backfill-create"),
    path(
        "backfill/<str:backfill_id>",
        legacy.LegacyDetailApi.as_view(),
        name="legacy-backfill-detail",
    ),
    path(
        "<str:district_id>/backfill",
        legacy.LegacyDistrictCreateApi.as_view(),
        name="legacy-district-backfill-create",
    ),
    path(
        "<str:district_id>/backfill/<str:backfill_id>",
        legacy.LegacyDistrictDetailApi.as_view(),
        name="legacy-district-backfill-detail",
    ),
]
