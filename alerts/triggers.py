"""A job that ends `failed` or `partial_success` (a publish included) is alerted on at once,
not at beat's next evaluation (up to ALERT_EVALUATE_SECONDS later).

The engine announces a job's end with `backfill.signals.job_ended` (after commit); this
receiver asks a worker to evaluate the event rules (`tasks.evaluate_events`). Requests coalesce:
while one evaluation is queued, a Redis key says so and no other message is sent (the queued
evaluation deletes the key before it reads, so it sees every job that ended before). A thousand
jobs failing together send a handful of messages, and alerts stay one per job: evaluations are
serialized by the rules' row lock and each job has one alert state. When Redis or the broker
is unreachable nothing is sent; beat's evaluation still finds the job.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.dispatch import receiver
from kombu.exceptions import KombuError

from backfill.limits.connection import get_redis
from backfill.models import JobStatus
from backfill.services import broker
from backfill.signals import job_ended

log = logging.getLogger(__name__)

EVALUATE_TASK = "alerts.tasks.evaluate_events"
ALERTING_STATUSES = {JobStatus.FAILED, JobStatus.PARTIAL_SUCCESS}
# A request whose message was lost (a worker killed before it ran) stops holding back new ones
# after this; beat's evaluation covers the gap.
REQUEST_TTL_SECONDS = 60


def request_key() -> str:
    return f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:alerts:evaluation-requested"


@receiver(job_ended, dispatch_uid="alerts.triggers.on_job_ended")
def on_job_ended(sender, job_id, status: str, job_type: str, **kwargs) -> None:
    if status in ALERTING_STATUSES:
        request_evaluation()


def request_evaluation() -> bool:
    """Queue one evaluation of the event rules unless one is already queued; True if sent."""
    try:
        first = get_redis().set(request_key(), "1", nx=True, ex=REQUEST_TTL_SECONDS)
    except redis.RedisError as exc:
        log.warning("no prompt alert evaluation (%s); beat's evaluation will find the job", exc)
        return False
    if not first:
        return False  # the queued evaluation has not read yet: it will see this job
    try:
        broker.send(EVALUATE_TASK)
    except (KombuError, OSError) as exc:
        log.warning("no prompt alert evaluation (%s); beat's evaluation will find the job", exc)
        forget_request()  # so the next job's end tries again
        return False
    return True


def forget_request() -> None:
    """The queued evaluation is about to read: the next job's end sends a message again."""
    try:
        get_redis().delete(request_key())
    except redis.RedisError as exc:
        log.warning("alert evaluation request not cleared (%s); it expires by itself", exc)
