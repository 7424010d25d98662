import os
import sys

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backfill_project.settings")

app = Celery("backfill_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# `current_app` is per thread: without this, a web server's request threads would send tasks
# through Celery's unconfigured fallback app (the default AMQP broker), not ours.
app.set_default()


@signals.setup_logging.connect
def use_project_logging(**kwargs) -> None:
    """Workers and beat log through settings LOGGING (each unit's fields on its lines,
    LOG_FORMAT=json), not Celery's own setup, which would replace the root logger's handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def worker_argv(*, queue: str, concurrency: int, loglevel: str = "INFO") -> list[str]:
    """The command line of a worker on `queue` (the demo, tests and benchmarks start one)."""
    return [
        *_celery("worker"),
        "-Q",
        queue,
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--loglevel={loglevel}",
    ]


def beat_argv(*, loglevel: str = "INFO") -> list[str]:
    """The command line of beat, with the DatabaseScheduler of settings.CELERY_BEAT_SCHEDULER."""
    return [*_celery("beat"), f"--loglevel={loglevel}"]


def _celery(command: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "backfill_project", command]
