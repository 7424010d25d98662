"""The alerts' admin pages as a superuser, with the real channels."""

from datetime import UTC, datetime

from django.core import mail
from django.urls import reverse

from alerts.models import AlertRule, AlertState, Delivery, DeliveryStatus, RuleKind, WebhookEndpoint
from backfill_project import heartbeat


def test_the_rules_page_creates_the_default_rules_once(admin_client, private_prefix):
    response = admin_client.get(reverse("admin:alerts_alertrule_changelist"))
    admin_client.get(reverse("admin:alerts_alertrule_changelist"))
    assert response.status_code == 200
    assert AlertRule.objects.count() == len(RuleKind)
    assert AlertRule.objects.get(kind=RuleKind.NO_WORKER).threshold == 3
    assert b"minutes without a live worker before alerting" in response.content


def test_a_rules_test_goes_to_its_list_and_every_webhook(admin_client, alert_channels):
    admin_client.get(reverse("admin:alerts_alertrule_changelist"))
    rule = AlertRule.objects.get(kind=RuleKind.BREAKER_OPEN)
    response = admin_client.post(
        reverse("admin:alerts_alertrule_changelist"),
        {"action": "send_test", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert mail.outbox[0].to == ["ops@example.org"] and "TEST" in mail.outbox[0].subject
    [received] = alert_channels.received
    assert received.event == "test" and received.signature_ok


def test_the_endpoints_send_test_button_logs_a_delivery(admin_client, alert_channels):
    endpoint = WebhookEndpoint.objects.get()
    page = admin_client.get(reverse("admin:alerts_webhookendpoint_change", args=[endpoint.pk]))
    assert b'id="alerts-send-test"' in page.content
    response = admin_client.post(
        reverse("admin:alerts_webhookendpoint_send_test", args=[endpoint.pk]), follow=True
    )
    assert b"Test to receiver: sent" in response.content
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.response_status == 204
    log = admin_client.get(reverse("admin:alerts_delivery_changelist"))
    assert b"receiver" in log.content and b" ms" in log.content


def test_the_conditions_page_shows_each_heartbeat(admin_client, private_prefix):
    url = reverse("admin:alerts_alertstate_changelist")
    assert b'id="alerts-no-heartbeat"' in admin_client.get(url).content
    heartbeat.beat_worker("celery@host-1")
    heartbeat.beat_beat()
    content = admin_client.get(url).content.decode()
    assert "celery@host-1" in content and "beat" in content and "alive" in content


def test_the_index_says_no_worker_answers(admin_client, private_prefix):
    heartbeat.beat_worker("celery@host-1")
    assert b"bf-workers-silent" not in admin_client.get(reverse("admin:index")).content
    heartbeat.beat_worker("celery@host-1", stopped=True)
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert "No worker is running (the last one answered" in content


def test_the_conditions_list_fits_its_column_and_says_when(admin_client, private_prefix):
    admin_client.get(reverse("admin:alerts_alertrule_changelist"))
    fired = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    AlertState.objects.create(
        rule=AlertRule.objects.get(kind=RuleKind.BREAKER_OPEN),
        key="breaker",
        status="firing",
        subject="The circuit breaker is open",
        pending_since=fired,
        last_seen_at=fired,
        fired_at=fired,
    )
    content = admin_client.get(reverse("admin:alerts_alertstate_changelist")).content.decode()
    # The rule wraps (the admin keeps a foreign key's column on one line), the times are short.
    assert '<td class="field-rule_name">The circuit breaker stayed open</td>' in content
    assert "pending Mar 4, 05:06" in content and "fired Mar 4, 05:06" in content
    assert "resolved" not in content.split('id="result_list"')[1].split("</table>")[0]
