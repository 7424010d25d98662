"""Snapshot endpoints, included by the project under `api/admin/`."""

from django.urls import path

from snapshots import api

urlpatterns = [
    path("snapshots", api.SnapshotListApi.as_view(), name="snapshot-list"),
    path("snapshots/<str:date>", api.SnapshotDetailApi.as_view(), name="snapshot-detail"),
    path(
        "snapshots/<str:date>/districts/<str:district_id>",
        api.SnapshotDistrictApi.as_view(),
        name="snapshot-district",
    ),
    path("snapshot-store/health", api.StoreHealthApi.as_view(), name="snapshot-store-health"),
    path(
        "snapshot-store/performance",
        api.StorePerformanceApi.as_view(),
        name="snapshot-store-performance",
    ),
]
