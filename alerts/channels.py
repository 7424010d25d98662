"""Sending an alert: one `Delivery` row per channel (e-mail to the rule's list or ADMINS, a
signed JSON POST to each enabled webhook endpoint), tried once at once and then retried with
backoff through the Celery task `alerts.tasks.deliver` until ALERT_WEBHOOK_MAX_ATTEMPTS.

The first try happens where the alert was raised (beat's evaluator) so that an alert about dead
workers still goes out while no worker runs; only the retries wait for one.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from kombu.exceptions import KombuError

from backfill.services import broker

from .models import AlertState, Channel, Delivery, DeliveryStatus, Event, WebhookEndpoint
from .signing import signed_headers

log = logging.getLogger(__name__)

DELIVER_TASK = "alerts.tasks.deliver"


class DeliveryFailed(Exception):
    """The channel refused or did not answer; the message says how."""


def payload(state: AlertState | None, event: str) -> dict:
    """The JSON body of a webhook (and the facts of an e-mail)."""
    if state is None:
        return {
            "event": event,
            "rule": "test",
            "key": "test",
            "subject": "Test alert from Backfill",
            "detail": "Sent from the admin to check this channel; nothing is wrong.",
            "at": timezone.now().isoformat(),
        }
    return {
        "event": event,
        "rule": state.rule.kind,
        "key": state.key,
        "subject": state.subject,
        "detail": state.detail,
        "since": state.pending_since.isoformat(),
        "firedAt": state.fired_at.isoformat() if state.fired_at else None,
        "resolvedAt": state.resolved_at.isoformat() if state.resolved_at else None,
        "at": timezone.now().isoformat(),
    }


def queue(state: AlertState, event: str) -> list[Delivery]:
    """The deliveries of one firing or resolution, by the rule's channels (not yet sent)."""
    rule = state.rule
    body = payload(state, event)
    deliveries = []
    if rule.send_email:
        recipients = rule.recipients(settings.ADMINS)
        if recipients:
            deliveries.append(email_delivery(state, event, recipients, body))
        else:
            log.warning("alert %r: no e-mail sent, the rule has no list and ADMINS is empty", rule)
    if rule.send_webhooks:
        deliveries += [
            Delivery.objects.create(
                state=state, event=event, channel=Channel.WEBHOOK, endpoint=endpoint, payload=body
            )
            for endpoint in WebhookEndpoint.objects.filter(enabled=True)
        ]
    return deliveries


def email_delivery(
    state: AlertState | None, event: str, recipients: list[str], body: dict
) -> Delivery:
    return Delivery.objects.create(
        state=state,
        event=event,
        channel=Channel.EMAIL,
        recipients=", ".join(recipients),
        payload=body,
    )


def test_deliveries(endpoints: list[WebhookEndpoint]) -> list[Delivery]:
    """A test message to each of `endpoints` (the admin's "send test")."""
    body = payload(None, Event.TEST)
    return [
        Delivery.objects.create(
            event=Event.TEST, channel=Channel.WEBHOOK, endpoint=endpoint, payload=body
        )
        for endpoint in endpoints
    ]


def attempt(delivery: Delivery) -> Delivery:
    """Try `delivery` once; on failure, send its retry (backoff) while attempts remain."""
    delivery.attempts += 1
    started = time.perf_counter()
    try:
        delivery.response_status = _send(delivery)
        delivery.status, delivery.error, delivery.sent_at = (
            DeliveryStatus.SENT,
            "",
            timezone.now(),
        )
    except DeliveryFailed as exc:
        delivery.error = str(exc)
        delivery.status = (
            DeliveryStatus.RETRYING
            if delivery.attempts < settings.ALERT_WEBHOOK_MAX_ATTEMPTS
            else DeliveryStatus.FAILED
        )
    delivery.response_ms = (time.perf_counter() - started) * 1000
    delivery.save()
    if delivery.status == DeliveryStatus.RETRYING:
        _send_retry(delivery)
    return delivery


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: base x 2^(attempts - 1)."""
    return settings.ALERT_WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1)


def _send_retry(delivery: Delivery) -> None:
    try:
        broker.send(DELIVER_TASK, delivery.pk, countdown=retry_delay(delivery.attempts))
    except (KombuError, OSError) as exc:
        log.error("delivery %s failed and its retry could not be queued: %s", delivery.pk, exc)


def _send(delivery: Delivery) -> int | None:
    if delivery.channel == Channel.EMAIL:
        return _send_email(delivery)
    return _post_webhook(delivery)


def _send_email(delivery: Delivery) -> None:
    body = delivery.payload
    word = {"firing": "ALERT", "resolved": "RESOLVED", "test": "TEST"}[delivery.event]
    text = f"{body['detail']}\n\nRule: {body['rule']}\nCondition: {body['key']}\nAt: {body['at']}\n"
    message = EmailMessage(
        subject=f"{settings.EMAIL_SUBJECT_PREFIX}{word}: {body['subject']}",
        body=text,
        from_email=settings.SERVER_EMAIL,
        to=[address.strip() for address in delivery.recipients.split(",")],
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"e-mail not sent: {exc.__class__.__name__}: {exc}") from exc


def _post_webhook(delivery: Delivery) -> int:
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Backfill-Alerts/1.0",
        "X-Backfill-Event": delivery.event,
        "X-Backfill-Delivery": str(delivery.pk),
        **signed_headers(endpoint.secret, body),
    }
    try:
        response = requests.post(
            endpoint.url, data=body, headers=headers, timeout=settings.ALERT_WEBHOOK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{endpoint.url}: {exc.__class__.__name__}: {exc}") from exc
    delivery.response_status = response.status_code
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{endpoint.url} answered {response.status_code}")
    return response.status_code
