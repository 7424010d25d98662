from django.contrib import admin

from .dashboard import closing
from .models import ClosingSource, District, DistrictConfiguration, MonthEndClosing


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("id", "region", "first_seen", "last_seen")
    search_fields = ("id", "region")


@admin.register(DistrictConfiguration)
class DistrictConfigurationAdmin(admin.ModelAdmin):
    list_display = ("district_id", "added_at")


@admin.register(MonthEndClosing)
class MonthEndClosingAdmin(admin.ModelAdmin):
    """Discovered and operator closing dates; they override the shipped registry (and
    CLOSING_DATES_FILE overrides them). Saving a row here makes it an operator row."""

    list_display = (
        "data_month",
        "closing_date",
        "still_closing_on",
        "source",
        "probes",
        "discovered_at",
        "updated_at",
    )
    list_filter = ("source",)
    ordering = ("-data_month",)
    readonly_fields = ("source", "discovered_at", "probes", "updated_at")
    fields = ("data_month", "closing_date", "still_closing_on", "note", *readonly_fields)

    def save_model(self, request, obj, form, change):
        # An edited row is the operator's word: it now beats what probing found.
        obj.source = ClosingSource.OPERATOR
        super().save_model(request, obj, form, change)
        closing.clear_cache()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        closing.clear_cache()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        closing.clear_cache()
