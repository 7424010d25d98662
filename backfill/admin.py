"""Minimal admin registrations; the consolidated Backfill section builds on these."""

from django.contrib import admin

from .models import BackfillJob, RateLimitConfig


@admin.register(RateLimitConfig)
class RateLimitConfigAdmin(admin.ModelAdmin):
    list_display = (
        "max_requests",
        "window_ms",
        "min_delay_ms",
        "max_delay_ms",
        "backoff_multiplier",
        "max_concurrent",
        "updated_at",
    )

    def has_add_permission(self, request):
        return not RateLimitConfig.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BackfillJob)
class BackfillJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "collection_strategy",
        "start_date",
        "end_date",
        "total_units",
        "succeeded_units",
        "failed_units",
        "created_at",
    )
    list_filter = ("status", "collection_strategy", "job_type")
    show_full_result_count = False
    readonly_fields = [f.name for f in BackfillJob._meta.fields]

    def has_add_permission(self, request):
        return False
