"""Domain errors of the backfill service, turned into HTTP or form errors in one place each.

Bad input stays Django's `ValidationError` (field -> messages); an action that the job's current
state does not allow is a `JobStateConflict`, so an API can answer 409 and a form can show it.
"""

from __future__ import annotations


class BackfillError(Exception):
    """Base of the backfill service's domain errors."""


class JobStateConflict(BackfillError):
    """The job's current state does not allow the action (cancel a finished job, retry a running
    one). Carries the job id, the action and the state the job is in."""

    def __init__(self, *, job_id: object, action: str, status: str, message: str) -> None:
        super().__init__(message)
        self.job_id = str(job_id)
        self.action = action
        self.status = str(status)
        self.message = message


class IdempotencyConflict(BackfillError):
    """An idempotency key already created a job for another request (another body or entry
    point): reusing a key for a new request is refused rather than guessed at."""

    def __init__(self, *, key: str, job_id: object) -> None:
        self.key = key
        self.job_id = str(job_id)
        self.message = (
            f"This Idempotency-Key was used within the last 24 hours for another request, which "
            f"created job {job_id}; send a new key for a new request."
        )
        super().__init__(self.message)


class JobNotFound(BackfillError):
    """No job has this id (or the id is not a job id at all)."""

    def __init__(self, *, job_id: object) -> None:
        super().__init__(f"No backfill job with id {job_id!s}.")
        self.job_id = str(job_id)
        self.message = f"No backfill job with id {job_id!s}."
