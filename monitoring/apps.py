from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Prometheus metrics, the admin's Operations page and structured logs."""

    name = "monitoring"
    label = "monitoring"
    verbose_name = "Backfill operations"
    default_auto_field = "django.db.models.BigAutoField"
