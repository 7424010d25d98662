"""The job page in a real Chromium: the run kind and priority, and the limiter panel's effective
delay with its reason, as the adaptive limiter in Redis has them."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from backfill import limits
from backfill.limits import config
from backfill.models import JobPriority, JobStatus, RateLimitConfig, RunKind
from tests.factories import BackfillJobFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_prefix(settings):
    prefix = f"test-admin-adaptive-{uuid.uuid4().hex[:12]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = prefix
    yield prefix
    client = limits.get_redis()
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


def test_the_job_page_shows_the_effective_delay_and_why(admin_page, private_prefix):
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(
        min_delay_ms=200, max_delay_ms=5_000
    )
    config.clear_settings_cache()
    limiter = limits.rate_limiter()
    for _ in range(10):
        limiter.observe(latency_ms=40)
    for _ in range(3):
        limiter.observe(latency_ms=2_000)
    now = timezone.now()
    job = BackfillJobFactory(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        priority=JobPriority.DAILY,
        run_kind=RunKind.DAILY_REFRESH,
    )
    page = admin_page
    page.goto(f"{page.base_url}/admin/backfill/backfilljob/{job.pk}/change/")
    page.wait_for_function(
        "() => document.getElementById('bf-delay').textContent.trim().endsWith('ms')"
    )
    assert page.inner_text("#bf-kind") == "daily-refresh · daily priority"
    assert page.inner_text("#bf-delay") == "450 ms"  # 200 ms configured + one 250 ms step
    assert page.inner_text("#bf-delay-reason").startswith("Slow responses (recent")
    config.clear_settings_cache()
