from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Health checks, worker and beat heartbeats, alert rules and their channels."""

    name = "alerts"
    label = "alerts"
    verbose_name = "Backfill alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Beat starts the alert evaluator from its beat_init signal (alerts/beat.py).
        from . import beat  # noqa: F401
