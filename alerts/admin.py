"""The alerts in the admin: rules (one per kind, edited in place), the conditions they found,
webhook endpoints with a "send test" button, the delivery log, and the worker and beat
heartbeats above the conditions."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from backfill_project import heartbeat

from . import channels
from .evaluation import ensure_default_rules
from .models import (
    THRESHOLD_MEANING,
    AlertRule,
    AlertState,
    Delivery,
    DeliveryStatus,
    Event,
    RuleKind,
    StateStatus,
    WebhookEndpoint,
)

STATUS_COLOURS = {
    StateStatus.FIRING: "#e53935",
    StateStatus.PENDING: "#fb8c00",
    StateStatus.RESOLVED: "#2e7d32",
    DeliveryStatus.SENT: "#2e7d32",
    DeliveryStatus.RETRYING: "#fb8c00",
    DeliveryStatus.FAILED: "#e53935",
    DeliveryStatus.PENDING: "#9e9e9e",
}


def badge(value: str) -> str:
    return format_html('<strong style="color:{}">{}</strong>', STATUS_COLOURS[value], value)


def short_time(value) -> str:
    """A moment in a list, narrow enough for its column: "Dec 6, 10:31" (local time)."""
    return "-" if value is None else format_date(timezone.localtime(value), "M j, H:i")


def report_sent(modeladmin, request, deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        target = delivery.endpoint or delivery.recipients
        level = messages.SUCCESS if delivery.status == DeliveryStatus.SENT else messages.ERROR
        outcome = delivery.status + (f": {delivery.error}" if delivery.error else "")
        modeladmin.message_user(request, f"Test to {target}: {outcome}", level)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """One rule per kind, created with sane defaults on first use; disable rather than delete."""

    list_display = (
        "kind_label",
        "enabled",
        "threshold",
        "threshold_meaning",
        "deadline_if_used",
        "quiet_seconds",
        "send_email",
        "email_to",
        "send_webhooks",
    )
    list_editable = ("enabled", "threshold", "quiet_seconds", "send_email", "send_webhooks")
    readonly_fields = ("kind", "threshold_meaning", "created_at")
    fields = (
        "kind",
        "enabled",
        "threshold",
        "threshold_meaning",
        "deadline",
        "quiet_seconds",
        "send_email",
        "email_to",
        "send_webhooks",
        "created_at",
    )
    actions = ["send_test"]

    @admin.display(description="rule", ordering="kind")
    def kind_label(self, rule: AlertRule) -> str:
        return rule.get_kind_display()

    @admin.display(description="threshold means")
    def threshold_meaning(self, rule: AlertRule) -> str:
        return THRESHOLD_MEANING[rule.kind] or "(unused)"

    @admin.display(description="deadline (UTC)")
    def deadline_if_used(self, rule: AlertRule) -> str:
        return f"{rule.deadline:%H:%M}" if rule.kind == RuleKind.DAILY_REFRESH_LATE else "-"

    @admin.action(
        description="Send a test through the selected rules' channels",
        permissions=["change"],
    )
    def send_test(self, request, queryset):
        deliveries = []
        for rule in queryset:
            recipients = rule.recipients(settings.ADMINS) if rule.send_email else []
            if recipients:
                body = channels.payload(None, Event.TEST)
                deliveries.append(channels.email_delivery(None, Event.TEST, recipients, body))
            if rule.send_webhooks:
                deliveries += channels.test_deliveries(
                    list(WebhookEndpoint.objects.filter(enabled=True))
                )
        report_sent(self, request, [channels.attempt(d) for d in deliveries])

    def changelist_view(self, request, extra_context=None):
        if self.has_view_or_change_permission(request):  # nobody else makes rows by looking
            ensure_default_rules()
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AlertState)
class AlertStateAdmin(admin.ModelAdmin):
    """What the rules found, newest first, read-only; the heartbeats above the list."""

    change_list_template = "admin/alerts/alertstate_changelist.html"
    list_display = (
        "subject",
        "status_badge",
        "rule_name",
        "timeline",
    )
    list_filter = ("status", "rule")
    list_select_related = ("rule",)
    search_fields = ("subject", "key")
    readonly_fields = [f.name for f in AlertState._meta.fields]

    @admin.display(description="status", ordering="status")
    def status_badge(self, state: AlertState) -> str:
        return badge(state.status)

    @admin.display(description="rule", ordering="rule")
    def rule_name(self, state: AlertState) -> str:
        # A method, not the foreign key itself, which the admin would keep on one line.
        return str(state.rule)

    @admin.display(description="when", ordering="-last_seen_at")
    def timeline(self, state: AlertState) -> str:
        """Pending, fired and resolved in one narrow column, so the list fits beside the
        navigation and the filters."""
        moments = [
            ("pending", state.pending_since),
            ("fired", state.fired_at),
            ("resolved", state.resolved_at),
        ]
        return format_html_join(
            mark_safe("<br>"),
            '<span style="white-space:nowrap">{} {}</span>',
            ((label, short_time(moment)) for label, moment in moments if moment),
        )

    def changelist_view(self, request, extra_context=None):
        rows, error = heartbeat_rows()
        context = {**(extra_context or {}), "heartbeats": rows, "heartbeat_error": error}
        return super().changelist_view(request, context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def heartbeat_rows() -> tuple[list[dict], str]:
    """The workers' and beat's heartbeats for the page, and why they cannot be read ("")."""
    try:
        beats = heartbeat.read()
    except redis.RedisError as exc:
        return [], f"Heartbeats not readable: Redis did not answer ({exc})."
    rows = [
        {
            "name": worker.name,
            "kind": "worker",
            "alive": worker.alive(settings.HEALTH_WORKER_STALE_SECONDS),
            "state": "stopped" if worker.stopped else "",
            "age": heartbeat.describe_age(worker.age),
        }
        for worker in beats.workers
    ]
    if beats.beat is not None:
        rows.append(
            {
                "name": "beat",
                "kind": "beat",
                "alive": beats.beat_alive(),
                "state": "",
                "age": heartbeat.describe_age(beats.beat.age),
            }
        )
    return rows, ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    change_form_template = "admin/alerts/webhookendpoint_change_form.html"
    list_display = ("name", "url", "enabled")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["send_test"]

    @admin.action(
        description="Send a test message to the selected endpoints", permissions=["change"]
    )
    def send_test(self, request, queryset):
        deliveries = channels.test_deliveries(list(queryset))
        report_sent(self, request, [channels.attempt(d) for d in deliveries])

    def get_fields(self, request, obj=None):
        """The secret is shown only to who may change the endpoint (a viewer could otherwise
        sign messages as the service)."""
        fields = super().get_fields(request, obj)
        if self.has_change_permission(request, obj):
            return fields
        return [name for name in fields if name != "secret"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.send_test_view)
        return [
            path("<int:pk>/send-test/", view, name="alerts_webhookendpoint_send_test"),
            *super().get_urls(),
        ]

    def send_test_view(self, request, pk: int):
        """The change page's "Send test" button (POST only; 403 without the right to change
        the endpoint)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        get_object_or_404(WebhookEndpoint, pk=pk)
        if request.method == "POST":
            self.send_test(request, WebhookEndpoint.objects.filter(pk=pk))
        return HttpResponseRedirect(reverse("admin:alerts_webhookendpoint_change", args=[pk]))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Every message sent: to whom, how it went, how long the receiver took."""

    list_display = (
        "sent",
        "event",
        "channel",
        "target",
        "status_badge",
        "attempts",
        "response_status",
        "response_time",
        "error",
    )
    list_filter = ("status", "channel", "event")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.display(description="created", ordering="created_at")
    def sent(self, delivery: Delivery) -> str:
        return short_time(delivery.created_at)

    @admin.display(description="to")
    def target(self, delivery: Delivery) -> str:
        return str(delivery.endpoint) if delivery.endpoint else delivery.recipients

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: Delivery) -> str:
        return badge(delivery.status)

    @admin.display(description="response time", ordering="response_ms")
    def response_time(self, delivery: Delivery) -> str:
        return "-" if delivery.response_ms is None else f"{delivery.response_ms:.0f} ms"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
