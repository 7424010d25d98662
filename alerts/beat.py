"""The evaluator runs inside beat, every ALERT_EVALUATE_SECONDS, in a thread started when beat
starts: not as a task on a worker, because "no worker is running" must still be noticed and
sent when no worker runs."""

from __future__ import annotations

import logging
import threading

from celery.signals import beat_init
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from .evaluation import evaluate

log = logging.getLogger(__name__)


@beat_init.connect
def start_evaluator(**kwargs) -> None:
    threading.Thread(target=evaluate_forever, name="alerts", daemon=True).start()


def evaluate_forever() -> None:
    stop = threading.Event()
    while not stop.wait(settings.ALERT_EVALUATE_SECONDS):
        close_old_connections()
        try:
            evaluate()
        except DatabaseError as exc:
            log.error("alerts not evaluated: %s", exc)
