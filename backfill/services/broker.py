"""The engine's one door to Celery: the names of the tasks it sends and `send`, the only
function that hands a message to the broker (and so the one seam tests replace).

Sending happens after commit (`transaction.on_commit`) so a worker never sees a row its sender
has not committed. A broker that is down loses nothing: a unit's row is the queue of record,
and the next reclaim sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.conf import settings
from kombu.exceptions import KombuError

log = logging.getLogger(__name__)

RUN_UNIT_TASK = "backfill.tasks.run_unit"
START_JOBS_TASK = "backfill.tasks.start_queued_jobs"
ASSEMBLE_TASK = "backfill.tasks.assemble_snapshot"


def send(task: str, *args: Any, countdown: float | None = None) -> None:
    """Send one task message to the engine's queue."""
    current_app.send_task(
        task, args=args, countdown=countdown, queue=settings.CELERY_TASK_DEFAULT_QUEUE
    )


def send_units(ids: Iterable[int], token: str, countdown: float | None = None) -> None:
    """Send unit messages (call after commit). A broker that is down loses nothing: the units
    stay running with a lease nobody renews, and the next reclaim dispatches them again."""
    for unit_id in ids:
        try:
            send(RUN_UNIT_TASK, unit_id, token, countdown=countdown)
        except (KombuError, OSError) as exc:
            log.warning("unit %s not sent (%s); re-dispatched when its lease ends", unit_id, exc)


def send_batch(ids: Iterable[int], token: str) -> None:
    """Send one message for a batch of a store-bound job's units (`batches`; call after
    commit). A broker that is down loses nothing, as for `send_units`."""
    ids = list(ids)
    try:
        send(RUN_UNIT_TASK, ids, token)
    except (KombuError, OSError) as exc:
        log.warning("batch of %s units not sent (%s); re-dispatched when its lease ends", ids, exc)
