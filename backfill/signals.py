"""The engine's announcements to the apps above it (alerts, monitoring), which the engine must
not import: Django signals they connect to.

`job_ended` is sent once a job's final status is committed, with `job_id`, `status` and
`job_type` (sender: BackfillJob). A receiver that fails is logged and never fails the engine.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

from .models import BackfillJob

log = logging.getLogger(__name__)

job_ended = Signal()


def announce_job_end(job: BackfillJob) -> None:
    """Send `job_ended` for `job` once the transaction that gave it its final status commits
    (at once outside a transaction)."""
    ended = {"job_id": job.pk, "status": job.status, "job_type": job.job_type}

    def send() -> None:
        for receiver, result in job_ended.send_robust(sender=BackfillJob, **ended):
            if isinstance(result, Exception):
                log.error("job %s: job_ended receiver %r failed: %s", job.pk, receiver, result)

    transaction.on_commit(send)
