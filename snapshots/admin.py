"""The snapshot index in the admin: read-only, because the files are the data.

The list is the index; a snapshot's page shows its manifest (districts, detail, errors) read
from the store; a district's page shows its normalized figures and links to the raw CSVs. Every
page needs `snapshots.view_snapshot` (`permissions.guarded`).
"""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path

from backfill_project import permissions
from districts.dashboard.reports import PER_DISTRICT_REPORTS, ReportType
from districts.ids import ALL_DISTRICTS
from snapshots import selectors, store
from snapshots.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(permissions.ReadOnlyAdmin):
    list_display = (
        "logical_date",
        "as_of_date",
        "status",
        "collection_strategy",
        "district_count",
        "error_count",
        "size_bytes",
        "is_closing_period",
        "updated_at",
    )
    list_filter = ("status", "collection_strategy", "is_closing_period")
    date_hierarchy = "logical_date"
    search_fields = ("logical_date", "data_month", "job_id")
    ordering = ("-logical_date",)
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def get_urls(self):
        view = self.guarded_view
        return [
            path(
                "<int:pk>/district/<str:district_id>/",
                view(self.district_view),
                name="snapshots_snapshot_district",
            ),
            path(
                "<int:pk>/raw/<str:report>/<str:district_id>.csv",
                view(self.raw_view),
                name="snapshots_snapshot_raw",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        # get_object answers None for an id that is not a number (`abc`): a 404, not a 500.
        snapshot = self.get_object(request, object_id)
        if snapshot is None:
            raise Http404("No such snapshot.")
        manifest = selectors.snapshot_manifest(logical_date=snapshot.logical_date) or {}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Snapshot {snapshot.logical_date}",
            "opts": self.model._meta,
            "snapshot": snapshot,
            "manifest": manifest,
            "files": manifest.get("files") or [],
            "detail_levels": manifest.get("detailLevels") or {},
        }
        return TemplateResponse(request, "admin/snapshots/snapshot.html", context)

    def district_view(self, request, pk, district_id):
        snapshot = get_object_or_404(Snapshot, pk=pk)
        statistics = selectors.snapshot_district(
            logical_date=snapshot.logical_date, district_id=district_id
        )
        if statistics is None:
            raise Http404("No such district in this snapshot.")
        reports = (
            PER_DISTRICT_REPORTS if statistics.detail == "full" else (ReportType.DISTRICT_SUMMARY,)
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"District {statistics.district_id} on {snapshot.logical_date}",
            "opts": self.model._meta,
            "snapshot": snapshot,
            "s": statistics,
            "reports": [str(r) for r in reports],
        }
        return TemplateResponse(request, "admin/snapshots/district.html", context)

    def raw_view(self, request, pk, report, district_id):
        snapshot = get_object_or_404(Snapshot, pk=pk)
        as_of = snapshot.as_of_date or snapshot.logical_date
        statistics = (
            selectors.snapshot_district(logical_date=snapshot.logical_date, district_id=district_id)
            if district_id != ALL_DISTRICTS
            else None
        )
        if statistics is not None:
            as_of = statistics.as_of_date
        try:
            data = store.read_raw_csv(
                as_of=as_of,
                report=report,
                district_id=None if report == ReportType.DISTRICT_SUMMARY else district_id,
            )
        except store.SnapshotStoreError:
            data = None
        if data is None:
            raise Http404("That export is not in the raw archive.")
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        name = f"{report}_{district_id}_{date.isoformat(as_of)}.csv"
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response
