"""Domain errors of the backfill service. The API answers each as its class says
(`backfill_project.errors.DomainError`); forms and commands show its message.

Bad input stays Django's `ValidationError` (field -> messages); an action that the job's current
state does not allow is a `JobStateConflict`, so an API can answer 409 and a form can show it.
"""

from __future__ import annotations

from typing import Any

from backfill_project.errors import DomainError


class BackfillError(DomainError):
    """Base of the backfill service's domain errors."""


class JobStateConflict(BackfillError):
    """The job's current state does not allow the action (cancel a finished job, retry a running
    one). Carries the job id, the action and the state the job is in."""

    http_status = 409
    code = "job_state_conflict"

    def __init__(self, *, job_id: object, action: str, status: str, message: str) -> None:
        super().__init__(message)
        self.job_id = str(job_id)
        self.action = action
        self.status = str(status)

    def body(self) -> dict[str, Any]:
        # `status` is the job's current state.
        body = {"jobId": self.job_id, "action": self.action, "status": self.status}
        return {**super().body(), **body}


class IdempotencyConflict(BackfillError):
    """An idempotency key already created a job for another request (another body or entry
    point): reusing a key for a new request is refused rather than guessed at."""

    http_status = 409
    code = "idempotency_key_reused"

    def __init__(self, *, key: str, job_id: object) -> None:
        super().__init__(
            f"This Idempotency-Key was used within the last 24 hours for another request, which "
            f"created job {job_id}; send a new key for a new request."
        )
        self.key = key
        self.job_id = str(job_id)

    def body(self) -> dict[str, Any]:
        # `jobId` is the job the key created.
        return {**super().body(), "jobId": self.job_id}


class JobNotFound(BackfillError):
    """No job has this id (or the id is not a job id at all)."""

    http_status = 404

    def __init__(self, *, job_id: object) -> None:
        super().__init__(f"No backfill job with id {job_id!s}.")
        self.job_id = str(job_id)
