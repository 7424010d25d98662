"""What running a unit comes to (`UnitOutcome`), and the outcome of the failures that are no fault
of the data: the snapshot store that cannot take writes, and the unexpected error (a bug, a
surprise, the task's soft time limit). Shared by data units (`collecting`) and analytics units
(`execution`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from districts.dashboard.errors import ErrorType
from snapshots import store

from ..models import UnitStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnitOutcome:
    status: str
    requests: int = 0
    error_type: str = ""
    message: str = ""
    retryable: bool | None = None


def store_unwritable(context: str, exc: store.StoreUnwritable, error_type: str) -> UnitOutcome:
    """The store cannot take writes (full, read-only, refused): no fault of the unit, which
    goes back to its job's queue (`PENDING`, its attempt not counted) once the condition is
    recorded; dispatch then holds every unit until the store takes writes again. When it
    cannot be recorded (Redis unreachable), the unit fails retryable like any store error."""
    if store.record_unwritable(exc) is None:
        log.error("%s: snapshot write failed: %s", context, exc)
        return UnitOutcome(UnitStatus.FAILED, 0, error_type, str(exc), True)
    log.info("%s: waits for the snapshot store: %s", context, exc)
    return UnitOutcome(UnitStatus.PENDING, 0, error_type, str(exc), True)


def unexpected(context: str, exc: Exception) -> UnitOutcome:
    """A bug or a surprise (fetch, parse, normalize, store, analytics) ends its unit, not the
    worker's task: the unit records what happened and the job goes on with the others.

    Celery's soft time limit (CELERY_TASK_SOFT_TIME_LIMIT) is no surprise but a unit that took
    too long, whatever it was waiting for: a `timeout_error`, retryable like any other."""
    if isinstance(exc, SoftTimeLimitExceeded):
        log.warning("%s: stopped by the task's soft time limit", context)
        message = (
            f"the unit ran longer than the task's soft time limit "
            f"({settings.CELERY_TASK_SOFT_TIME_LIMIT} s, CELERY_TASK_SOFT_TIME_LIMIT)"
        )
        return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.TIMEOUT_ERROR, message, True)
    log.exception("%s: unexpected error", context)
    message = f"unexpected {type(exc).__name__}: {exc}"
    return UnitOutcome(UnitStatus.FAILED, 0, ErrorType.PROCESSING_FAILED, message, False)
