"""The Operations page of the admin (`/admin/monitoring/operations/`): the seeds' job,
district, error and performance figures over the last 24 hours, 7 or 30 days
(monitoring/reports.py), small SVG charts (monitoring/charts.py) and each table as CSV
(`?window=7d&csv=districts`). For staff who may view jobs (backfill.view_backfilljob), like
the job pages."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from backfill_project import permissions
from districts.ids import ALL_DISTRICTS

from . import charts, reports
from .models import Operations

# The districts shown in the success-rate chart (the table has them all).
CHART_DISTRICTS = 15


@admin.register(Operations)
class OperationsAdmin(permissions.ReadOnlyAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.has_perms(permissions.VIEW_JOBS)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        return [
            path(
                "",
                self.guarded_view(self.operations_view),
                name="monitoring_operations_changelist",
            )
        ]

    def operations_view(self, request):
        window = reports.window_of(request.GET.get("window"))
        report = reports.report(window)
        table_key = request.GET.get("csv")
        if table_key is not None:
            if table_key not in report.tables:
                raise Http404(f"no table {table_key!r}: one of {', '.join(report.tables)}")
            return csv_response(report.tables[table_key], window)
        context = {
            **self.admin_site.each_context(request),
            "title": "Operations",
            "opts": self.model._meta,
            "report": report,
            "windows": [(key, label) for key, (label, _, _) in reports.WINDOWS.items()],
            "charts": page_charts(report),
        }
        return TemplateResponse(request, "admin/monitoring/operations.html", context)


def page_charts(report: reports.Report) -> dict:
    job_types = report.tables["jobs"].rows
    districts = report.tables["districts"].rows[:CHART_DISTRICTS]
    errors = report.tables["errors"].rows
    return {
        "completion": charts.bar_chart(
            "Completion rate by job type",
            [(row[0], row[6]) for row in job_types],
            maximum=100,
            suffix=" %",
        ),
        "districts": charts.bar_chart(
            f"Success rate of the {len(districts)} worst districts",
            [(district_label(row[0]), row[3]) for row in districts],
            maximum=100,
            suffix=" %",
        ),
        "errors": charts.bar_chart(
            "Units by error type",
            [(row[0], row[1]) for row in errors],
            colour=charts.RIGHT_COLOUR,
        ),
        "requests": charts.requests_chart(
            report.request_buckets,
            report.limit_per_minute,
            title="Requests per minute to the dashboard against the configured limit",
        ),
    }


def district_label(district_id: str) -> str:
    """A chart's name for a district; "*" is the summary unit of every district."""
    return "Summary (all)" if district_id == ALL_DISTRICTS else f"District {district_id}"


def csv_response(table: reports.Table, window: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="operations-{table.key}-{window}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if value is None else value for value in row])
    return response
