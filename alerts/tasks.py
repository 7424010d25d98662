"""Thin Celery tasks of the alerts (STYLE.md): ids in, the channels do the work."""

from celery import shared_task

from .channels import DELIVER_TASK, attempt
from .models import Delivery, DeliveryStatus


@shared_task(name=DELIVER_TASK)
def deliver(delivery_id: int) -> str:
    """One more try of a delivery that failed (its backoff was the countdown)."""
    delivery = Delivery.objects.get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SENT:
        return delivery.status
    return attempt(delivery).status
