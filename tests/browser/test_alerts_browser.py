"""The alerts' admin pages in Chromium, light and dark: rules, conditions with the heartbeats,
an endpoint's "Send test" button and the delivery log. Screenshots under var/screenshots/."""

from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import RuleKind, WebhookEndpoint
from backfill.models import JobStatus
from backfill_project import heartbeat
from tests.factories import BackfillJobFactory
from tests.fixtures.alerts import only_rule
from tests.fixtures.browser import screenshot
from tests.fixtures.webhooks import SECRET


def test_the_alerts_pages_light_and_dark(admin_page, alert_channels):
    page = admin_page
    heartbeat.beat_worker("celery@worker-1", stopped=True)
    heartbeat.beat_worker("celery@worker-2")
    heartbeat.beat_beat()
    only_rule(RuleKind.JOB_FAILED)
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now())
    evaluate()

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{page.base_url}/admin/alerts/alertrule/")
        assert page.locator("#result_list tbody tr").count() == len(RuleKind)
        screenshot(page, f"alerts-01-rules-{scheme}")

        page.goto(f"{page.base_url}/admin/alerts/alertstate/")
        heartbeats = page.inner_text("#alerts-heartbeats")
        assert "celery@worker-2" in heartbeats and "stopped" in heartbeats
        assert "firing" in page.inner_text("#result_list")
        screenshot(page, f"alerts-02-states-{scheme}")

    endpoint = WebhookEndpoint.objects.get()
    page.goto(f"{page.base_url}/admin/alerts/webhookendpoint/{endpoint.pk}/change/")
    page.click("#alerts-send-test button")
    page.wait_for_selector(".messagelist")
    assert "Test to receiver: sent" in page.inner_text(".messagelist")
    assert [r.event for r in alert_channels.received][-1] == "test"
    assert alert_channels.received[-1].signature_ok and endpoint.secret == SECRET
    screenshot(page, "alerts-03-endpoint-sent-test-dark")

    page.goto(f"{page.base_url}/admin/alerts/delivery/")
    assert page.locator("#result_list tbody tr").count() == 3  # e-mail, webhook, test
    screenshot(page, "alerts-04-deliveries-dark")
    page.emulate_media(color_scheme="light")
    screenshot(page, "alerts-04-deliveries-light")

    heartbeat.beat_worker("celery@worker-2", stopped=True)
    page.goto(f"{page.base_url}/admin/")
    assert "No worker is running (the last one answered" in page.inner_text("#bf-workers-silent")
    screenshot(page, "alerts-05-index-no-worker-light")
