from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    label = "analytics"
    verbose_name = "Backfill analytics"
    default_auto_field = "django.db.models.BigAutoField"
