import gc
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
# Workers and beat write their heartbeats from Celery's signals, connected on import.
from . import heartbeat  # noqa: E402, F401


@signals.after_setup_logger.connect
def unit_fields_on_worker_lines(logger, format, **kwargs) -> None:
    """Workers and beat keep Celery's logging (its format, `--loglevel`), and every line a unit
    logs still carries its job, unit, date and district (settings LOGGING's filter), or is one
    JSON object with LOG_FORMAT=json, as in every other process."""
    from django.conf import settings

    from backfill_project.log_context import JsonFormatter, PlainFormatter, UnitContextFilter

    for handler in logger.handlers:
        handler.addFilter(UnitContextFilter())
        handler.setFormatter(
            JsonFormatter() if settings.LOG_FORMAT == "json" else PlainFormatter(format)
        )


@signals.worker_process_init.connect
def startup_objects_out_of_gc(**kwargs) -> None:
    """A pool process starts with everything its worker imported and set up (Django, Celery, the
    project: about 140,000 objects that live as long as it). Frozen (`gc.freeze`), the garbage
    collector no longer walks them in each full collection, which the many short-lived objects
    of parsing and normalizing a district's reports trigger again and again: a store-bound unit
    took about 12 % more CPU without it (README, "The garbage collector")."""
    gc.freeze()


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
