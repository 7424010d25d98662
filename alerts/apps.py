from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Health checks, worker and beat heartbeats, alert rules and their channels."""

    name = "alerts"
    label = "alerts"
    verbose_name = "Backfill alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Beat starts the alert evaluator from its beat_init signal (alerts/beat.py); a job's
        # bad end asks for an evaluation at once (alerts/triggers.py, backfill's job_ended).
        from . import beat, triggers  # noqa: F401
