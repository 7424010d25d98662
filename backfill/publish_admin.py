"""The admin's publish history: every step of every publish job (a date's files, or the indexes
written last), read-only, newest first, each linking to its job's page. Registered by
`backfill/admin.py`."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backfill_project import permissions

from .models import PublishStep


@admin.register(PublishStep)
class PublishStepAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "job_link",
        "step",
        "where",
        "written",
        "skipped",
        "size",
        "duration",
        "error_count",
    )
    date_hierarchy = "started_at"
    search_fields = ("destination",)
    show_full_result_count = False
    list_per_page = 50
    list_select_related = ("job",)
    readonly_fields = [f.name for f in PublishStep._meta.fields]

    @admin.display(description="job")
    def job_link(self, step: PublishStep) -> str:
        url = reverse("admin:backfill_backfilljob_change", args=[step.job_id])
        return format_html('<a href="{}">{}</a>', url, str(step.job_id)[:8])

    @admin.display(description="step", ordering="logical_date")
    def step(self, step: PublishStep) -> str:
        return step.logical_date.isoformat() if step.logical_date else "indexes (last)"

    @admin.display(description="destination", ordering="destination")
    def where(self, step: PublishStep) -> str:
        # Long directory URLs would push the figures off the page: the end says which one.
        shown = step.destination if len(step.destination) <= 32 else "…" + step.destination[-31:]
        return format_html('<span title="{}">{}</span>', step.destination, shown)

    @admin.display(description="bytes", ordering="bytes")
    def size(self, step: PublishStep) -> str:
        return f"{step.bytes:,}"

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, step: PublishStep) -> str:
        if step.duration_ms < 10_000:
            return f"{step.duration_ms} ms"
        return str(timedelta(seconds=step.duration_ms // 1000))

    @admin.display(description="errors")
    def error_count(self, step: PublishStep) -> str:
        if not step.errors:
            return "0"
        return format_html(
            '<strong class="bf-error" title="{}">{}</strong>',
            "; ".join(step.errors),
            len(step.errors),
        )

    def has_view_permission(self, request, obj=None):
        # A step is part of its job: whoever may read jobs may read their publish history.
        return request.user.has_perms(permissions.VIEW_JOBS)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
