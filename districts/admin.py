from django.contrib import admin

from .models import District, DistrictConfiguration


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("id", "region", "first_seen", "last_seen")
    search_fields = ("id", "region")


@admin.register(DistrictConfiguration)
class DistrictConfigurationAdmin(admin.ModelAdmin):
    list_display = ("district_id", "added_at")
