"""The admin's one publish history: every step of every publish job (a date's files, or the
indexes written last), each linking to its job's page, and every run of `manage.py
publish_site` (its dates, then the indexes), read-only, newest first, in one list
(`PublishHistoryEntry`). Registered by `backfill/admin.py`."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backfill_project import permissions

from .models import PublishHistoryEntry


@admin.register(PublishHistoryEntry)
class PublishHistoryAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "by",
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
    list_filter = ("dry_run",)
    readonly_fields = [f.name for f in PublishHistoryEntry._meta.fields]

    @admin.display(description="by")
    def by(self, step: PublishHistoryEntry) -> str:
        if step.job_id is None:
            return "publish_site"
        url = reverse("admin:backfill_backfilljob_change", args=[step.job_id])
        return format_html('<a href="{}">job {}</a>', url, str(step.job_id)[:8])

    @admin.display(description="what", ordering="first_date")
    def step(self, step: PublishHistoryEntry) -> str:
        if step.job_id is not None:  # a job's step: one date, or the indexes
            return step.first_date.isoformat() if step.first_date else "indexes (last)"
        dry = " (dry run)" if step.dry_run else ""
        if not step.dates:
            return f"indexes{dry}"
        if step.dates == 1:
            return f"1 date ({step.first_date}) + indexes{dry}"
        return f"{step.dates} dates ({step.first_date} … {step.last_date}) + indexes{dry}"

    @admin.display(description="destination", ordering="destination")
    def where(self, step: PublishHistoryEntry) -> str:
        # Long directory URLs would push the figures off the page: the end says which one.
        shown = step.destination if len(step.destination) <= 32 else "…" + step.destination[-31:]
        return format_html('<span title="{}">{}</span>', step.destination, shown)

    @admin.display(description="bytes", ordering="bytes")
    def size(self, step: PublishHistoryEntry) -> str:
        return f"{step.bytes:,}"

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, step: PublishHistoryEntry) -> str:
        if step.duration_ms < 10_000:
            return f"{step.duration_ms} ms"
        return str(timedelta(seconds=step.duration_ms // 1000))

    @admin.display(description="errors")
    def error_count(self, step: PublishHistoryEntry) -> str:
        if not step.errors:
            return "0"
        return format_html(
            '<strong class="bf-error" title="{}">{}</strong>',
            "; ".join(step.errors),
            len(step.errors),
        )

    def has_view_permission(self, request, obj=None):
        # Whoever may read jobs may read the publish history (the command's runs included).
        return request.user.has_perms(permissions.VIEW_JOBS)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
