"""The evaluator with real channels: Django's locmem mailbox and a webhook receiver over HTTP."""

from datetime import UTC, datetime, time, timedelta

from django.core import mail
from django.utils import timezone

from alerts import tasks
from alerts.channels import DELIVER_TASK, retry_delay
from alerts.evaluation import evaluate
from alerts.models import AlertState, Delivery, DeliveryStatus, RuleKind, StateStatus
from backfill import limits
from backfill.models import JobStatus, JobType, RunKind
from backfill_project import heartbeat
from tests.factories import BackfillJobFactory
from tests.fixtures.alerts import only_rule


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def open_breaker() -> None:
    breaker = limits.circuit_breaker()
    while breaker.record_failure() != "open":
        pass


def test_a_flapping_breaker_sends_one_alert_and_one_resolution(alert_channels):
    only_rule(RuleKind.BREAKER_OPEN, threshold=0, quiet_seconds=300)
    breaker, now = limits.circuit_breaker(), timezone.now()
    for flap in range(50):
        open_breaker()
        evaluate(now=now + timedelta(seconds=2 * flap))
        breaker.record_success()
        evaluate(now=now + timedelta(seconds=2 * flap + 1))
    assert subjects() == ["[Backfill] ALERT: The dashboard's circuit breaker is open"]
    assert [body["event"] for body in alert_channels.bodies()] == ["firing"]

    evaluate(now=now + timedelta(minutes=7))
    evaluate(now=now + timedelta(minutes=8))

    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("[Backfill] RESOLVED:")
    assert [body["event"] for body in alert_channels.bodies()] == ["firing", "resolved"]
    assert all(received.signature_ok for received in alert_channels.received)
    assert AlertState.objects.get().status == StateStatus.RESOLVED


def test_the_breaker_alerts_only_after_staying_open_for_its_threshold(alert_channels):
    only_rule(RuleKind.BREAKER_OPEN, threshold=10)
    open_breaker()
    now = timezone.now()
    evaluate(now=now)
    evaluate(now=now + timedelta(minutes=9))
    assert mail.outbox == []
    evaluate(now=now + timedelta(minutes=10))
    assert subjects() == ["[Backfill] ALERT: The dashboard's circuit breaker is open"]


def test_a_failed_job_sends_one_email_and_one_signed_webhook_once(alert_channels, settings):
    rule = only_rule(RuleKind.JOB_FAILED, email_to="a@example.org, b@example.org")
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=rule.created_at - timedelta(days=1))
    job = BackfillJobFactory(status=JobStatus.PARTIAL_SUCCESS, finished_at=timezone.now())
    BackfillJobFactory(status=JobStatus.COMPLETED, finished_at=timezone.now())

    evaluate()
    evaluate()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@example.org", "b@example.org"]
    assert str(job.pk) in mail.outbox[0].subject
    [received] = alert_channels.received
    assert received.signature_ok and received.body["key"] == f"job:{job.pk}"
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.SENT and delivery.response_status == 204
    assert delivery.response_ms > 0


def test_a_failed_publish_is_the_publish_rules_not_the_job_rules(alert_channels):
    only_rule(RuleKind.JOB_FAILED)
    BackfillJobFactory(
        job_type=JobType.PUBLISH, status=JobStatus.FAILED, finished_at=timezone.now()
    )
    evaluate()
    assert mail.outbox == []
    only_rule(RuleKind.PUBLISH_FAILED)
    evaluate()
    assert len(mail.outbox) == 1 and "Publish" in mail.outbox[0].subject


def test_a_failed_webhook_is_retried_with_backoff_through_celery(alert_channels, sent, settings):
    settings.ALERT_WEBHOOK_RETRY_BASE_SECONDS = 10
    only_rule(RuleKind.JOB_FAILED, send_email=False)
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now())
    alert_channels.fail_next = 1

    [delivery] = evaluate()

    assert delivery.status == DeliveryStatus.RETRYING and delivery.response_status == 500
    assert sent == [(DELIVER_TASK, (delivery.pk,))]
    assert [retry_delay(n) for n in (1, 2, 3)] == [10, 20, 40]
    assert tasks.deliver(delivery.pk) == DeliveryStatus.SENT
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and len(alert_channels.received) == 1


def test_a_webhook_that_keeps_failing_ends_failed(alert_channels, sent, settings):
    settings.ALERT_WEBHOOK_MAX_ATTEMPTS = 2
    only_rule(RuleKind.JOB_FAILED, send_email=False)
    BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now())
    alert_channels.fail_next = 5
    [delivery] = evaluate()
    assert tasks.deliver(delivery.pk) == DeliveryStatus.FAILED
    assert len(sent) == 1  # no third try queued


def test_no_worker_alerts_once_the_last_heartbeat_is_older_than_the_threshold(alert_channels):
    only_rule(RuleKind.NO_WORKER, threshold=3)
    heartbeat.beat_worker("celery@alive")
    evaluate()
    assert mail.outbox == []
    heartbeat.beat_worker("celery@alive", stopped=True)
    only_rule(RuleKind.NO_WORKER, threshold=0)
    evaluate()
    assert subjects() == ["[Backfill] ALERT: No worker is running"]


def test_the_daily_refresh_is_late_after_its_deadline_until_one_completes(alert_channels):
    rule = only_rule(RuleKind.DAILY_REFRESH_LATE, deadline=time(8, 0), quiet_seconds=0)
    rule.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    rule.save()
    evaluate(now=datetime(2026, 3, 2, 7, 0, tzinfo=UTC))  # yesterday's deadline, missed
    assert len(mail.outbox) == 1 and "2026-03-01 08:00" in mail.outbox[0].subject
    BackfillJobFactory(
        run_kind=RunKind.DAILY_REFRESH,
        status=JobStatus.COMPLETED,
        finished_at=datetime(2026, 3, 2, 7, 30, tzinfo=UTC),
    )
    evaluate(now=datetime(2026, 3, 2, 7, 45, tzinfo=UTC))
    assert mail.outbox[-1].subject.startswith("[Backfill] RESOLVED:")
    evaluate(now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # today's deadline: it completed
    assert len(mail.outbox) == 2


def test_a_store_under_its_free_share_alerts(alert_channels, snapshot_root):
    only_rule(RuleKind.STORE_NEARLY_FULL, threshold=100)
    evaluate()
    assert subjects() == ["[Backfill] ALERT: The snapshot store is nearly full"]
    only_rule(RuleKind.STORE_NEARLY_FULL, threshold=0)
    evaluate()
    evaluate(now=timezone.now() + timedelta(minutes=6))
    assert subjects()[-1] == "[Backfill] RESOLVED: The snapshot store is nearly full"
