"""Alert tests: a private Redis key prefix, an administrator to mail and a webhook endpoint
pointed at the test's receiver."""

import uuid

import pytest

from alerts.evaluation import ensure_default_rules
from alerts.models import AlertRule, WebhookEndpoint
from backfill.limits.connection import get_redis
from tests.fixtures.webhooks import SECRET


@pytest.fixture
def private_prefix(settings):
    prefix = f"alerts-test-{uuid.uuid4().hex[:8]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = prefix
    yield prefix
    redis_client = get_redis()
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        redis_client.delete(key)


@pytest.fixture
def alert_channels(db, settings, private_prefix, webhook_receiver):
    settings.ADMINS = [("Ops", "ops@example.org")]
    WebhookEndpoint.objects.create(name="receiver", url=webhook_receiver.url, secret=SECRET)
    return webhook_receiver


def only_rule(kind: str, **fields) -> AlertRule:
    """Enable the rule of `kind` alone (with `fields`), so other conditions of the test
    environment (no worker, no daily run) send nothing."""
    ensure_default_rules()
    AlertRule.objects.exclude(kind=kind).update(enabled=False)
    AlertRule.objects.filter(kind=kind).update(enabled=True, **fields)
    return AlertRule.objects.get(kind=kind)
