"""Alert rules, the state of each condition they watch, webhook endpoints and every delivery.

A rule watches one kind of trouble (`RuleKind`); each condition it finds (a failed job, the
breaker, the store) gets one `AlertState` row, which is what keeps a flapping condition from
sending a storm: one message when it fires, one when it has stayed clear for the rule's quiet
period, whatever happens in between.
"""

from __future__ import annotations

import secrets
from datetime import time

from django.db import models


class RuleKind(models.TextChoices):
    JOB_FAILED = "job_failed", "A job ended failed or partial_success"
    DAILY_REFRESH_LATE = "daily_refresh_late", "The daily refresh did not complete by its deadline"
    BREAKER_OPEN = "breaker_open", "The circuit breaker stayed open"
    NO_WORKER = "no_worker", "No worker answered"
    AUDIT_DRIFT = "audit_drift", "An audit found drift"
    CLOSING_UNDISCOVERED = "closing_undiscovered", "A month's closing date was not discovered"
    STORE_NEARLY_FULL = "store_nearly_full", "The snapshot store is nearly full or unwritable"
    PUBLISH_FAILED = "publish_failed", "A publish failed"


# What `AlertRule.threshold` means for each kind (None: unused).
THRESHOLD_MEANING = {
    RuleKind.JOB_FAILED: None,
    RuleKind.DAILY_REFRESH_LATE: None,
    RuleKind.BREAKER_OPEN: "minutes open (or half-open) before alerting",
    RuleKind.NO_WORKER: "minutes without a live worker before alerting",
    RuleKind.AUDIT_DRIFT: "hours a drift stays reported",
    RuleKind.CLOSING_UNDISCOVERED: "days after the month end",
    RuleKind.STORE_NEARLY_FULL: "percent of the disk free, at most",
    RuleKind.PUBLISH_FAILED: None,
}

# Kinds whose findings are events (one job, one publish): they fire once and never resolve.
EVENT_KINDS = {RuleKind.JOB_FAILED, RuleKind.PUBLISH_FAILED}


class AlertRule(models.Model):
    kind = models.CharField(max_length=32, choices=RuleKind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    threshold = models.PositiveIntegerField(
        default=0, help_text="Its meaning depends on the kind (see the list of rules)."
    )
    deadline = models.TimeField(
        default=time(8, 0),
        help_text="Daily refresh only: the time of day (UTC) by which it must have completed.",
    )
    quiet_seconds = models.PositiveIntegerField(
        default=300,
        help_text="A condition resolves only after staying clear this many seconds (a flapping "
        "one sends no storm).",
    )
    send_email = models.BooleanField(default=True)
    email_to = models.TextField(
        blank=True, default="", help_text="Addresses, comma-separated; empty: settings.ADMINS."
    )
    send_webhooks = models.BooleanField(
        default=True, help_text="POST to every enabled webhook endpoint."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def hold_seconds(self) -> int:
        """How long a condition must hold before it fires (only the breaker's is measured here;
        the other kinds' thresholds are part of the condition)."""
        return self.threshold * 60 if self.kind == RuleKind.BREAKER_OPEN else 0

    def recipients(self, admins: list[tuple[str, str]]) -> list[str]:
        listed = [address.strip() for address in self.email_to.split(",") if address.strip()]
        return listed or [address for _, address in admins]


class StateStatus(models.TextChoices):
    PENDING = "pending"  # seen, not yet for the rule's hold time
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertState(models.Model):
    """One condition of one rule (`key`: "breaker", "job:<uuid>", "closing:2026-10")."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    key = models.CharField(max_length=128)
    status = models.CharField(max_length=8, choices=StateStatus.choices)
    subject = models.CharField(max_length=255)
    detail = models.TextField(blank=True, default="")
    pending_since = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    clear_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "key"], name="alert_state_rule_key"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.status})"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128,
        default=new_secret,
        help_text="Signs each body (HMAC-SHA256); give the receiver the same value.",
    )
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Event(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"
    TEST = "test"


class Channel(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"  # every attempt failed


class Delivery(models.Model):
    """One message to one channel: what was sent, how it went, how long the receiver took."""

    state = models.ForeignKey(
        AlertState, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event = models.CharField(max_length=8, choices=Event.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipients = models.TextField(blank=True, default="")
    payload = models.JSONField()
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} by {self.channel} ({self.status})"
