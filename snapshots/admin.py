"""The snapshot index in the admin: read-only, because the files are the data."""

from django.contrib import admin

from snapshots.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
