"""Thin Celery tasks of the alerts (STYLE.md): ids in, the channels do the work."""

from celery import shared_task

from . import triggers
from .channels import DELIVER_TASK, attempt
from .evaluation import evaluate
from .models import EVENT_KINDS, Delivery, DeliveryStatus


@shared_task(name=DELIVER_TASK)
def deliver(delivery_id: int) -> str:
    """One more try of a delivery that failed (its backoff was the countdown)."""
    delivery = Delivery.objects.get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SENT:
        return delivery.status
    return attempt(delivery).status


@shared_task(name=triggers.EVALUATE_TASK)
def evaluate_events() -> int:
    """Evaluate the event rules (failed jobs and publishes) now that a job ended badly
    (alerts/triggers.py); returns how many messages went out."""
    triggers.forget_request()
    return len(evaluate(kinds=EVENT_KINDS))
