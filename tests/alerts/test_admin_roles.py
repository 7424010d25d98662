"""Who may do what in the alerts' admin and on the Operations page (alerts 0002): *Backfill
viewers* read rules, conditions, endpoints (not their secrets) and deliveries but change
nothing and send no test; *Backfill operators* edit rules and endpoints and send tests; staff
without a permission get 403 everywhere, CSV downloads included."""

import pytest
from django.core import mail
from django.urls import reverse

from alerts.evaluation import ensure_default_rules
from alerts.models import AlertRule, Delivery, RuleKind, WebhookEndpoint
from tests.fixtures.api import OPERATORS, VIEWERS, staff_member
from tests.fixtures.webhooks import SECRET

OPERATIONS = "/admin/monitoring/operations/"
LISTS = ["alertrule", "alertstate", "webhookendpoint", "delivery"]


@pytest.fixture
def rule(alert_channels) -> AlertRule:
    ensure_default_rules()
    return AlertRule.objects.get(kind=RuleKind.BREAKER_OPEN)


def logged_in(client, group):
    client.force_login(staff_member("someone", group))
    return client


def rule_form(rule: AlertRule, **changes) -> dict:
    return {
        "enabled": "on",
        "threshold": rule.threshold,
        "deadline": "08:00:00",
        "quiet_seconds": rule.quiet_seconds,
        "send_email": "on",
        "email_to": "",
        "send_webhooks": "on",
        **changes,
    }


def send_rule_test(client, rule: AlertRule):
    return client.post(
        reverse("admin:alerts_alertrule_changelist"),
        {"action": "send_test", "_selected_action": [rule.pk]},
    )


def test_a_viewer_sees_every_page_but_changes_nothing_and_sends_no_test(client, rule):
    viewer = logged_in(client, VIEWERS)
    for model in LISTS:
        assert viewer.get(reverse(f"admin:alerts_{model}_changelist")).status_code == 200
    assert viewer.get(OPERATIONS).status_code == 200
    assert viewer.get(OPERATIONS, {"csv": "districts"}).status_code == 200

    change = reverse("admin:alerts_alertrule_change", args=[rule.pk])
    assert viewer.post(change, rule_form(rule, threshold=99)).status_code == 403
    send_rule_test(viewer, rule)
    assert b"Send a test" not in viewer.get(reverse("admin:alerts_alertrule_changelist")).content

    endpoint = WebhookEndpoint.objects.get()
    page = viewer.get(reverse("admin:alerts_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and b"receiver" in page.content
    assert SECRET.encode() not in page.content and b'id="alerts-send-test"' not in page.content
    send_test = reverse("admin:alerts_webhookendpoint_send_test", args=[endpoint.pk])
    assert viewer.post(send_test).status_code == 403

    rule.refresh_from_db()
    assert rule.threshold == 10
    assert mail.outbox == [] and nothing_delivered()


def nothing_delivered() -> bool:
    return not Delivery.objects.exists()


def test_an_operator_edits_rules_and_endpoints_and_sends_tests(client, rule, alert_channels):
    operator = logged_in(client, OPERATORS)
    change = reverse("admin:alerts_alertrule_change", args=[rule.pk])
    assert operator.post(change, rule_form(rule, threshold=20)).status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 20

    send_rule_test(operator, rule)
    assert [message.to for message in mail.outbox] == [["ops@example.org"]]

    endpoint = WebhookEndpoint.objects.get()
    page = operator.get(reverse("admin:alerts_webhookendpoint_change", args=[endpoint.pk]))
    assert SECRET.encode() in page.content and b'id="alerts-send-test"' in page.content
    operator.post(reverse("admin:alerts_webhookendpoint_send_test", args=[endpoint.pk]))
    assert [r.event for r in alert_channels.received] == ["test", "test"]
    assert all(received.signature_ok for received in alert_channels.received)


def test_staff_without_permissions_get_403_everywhere(client, rule):
    nobody = logged_in(client, None)
    for model in LISTS:
        assert nobody.get(reverse(f"admin:alerts_{model}_changelist")).status_code == 403
    assert nobody.get(reverse("admin:alerts_alertrule_change", args=[rule.pk])).status_code == 403
    endpoint = WebhookEndpoint.objects.get()
    send_test = reverse("admin:alerts_webhookendpoint_send_test", args=[endpoint.pk])
    assert nobody.post(send_test).status_code == 403
    assert nobody.get(OPERATIONS).status_code == 403
    for table in ("jobs", "districts", "errors", "retries", "failures", "requests"):
        assert nobody.get(OPERATIONS, {"csv": table}).status_code == 403
    assert mail.outbox == [] and nothing_delivered()
