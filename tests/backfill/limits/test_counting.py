"""The limits count what /metrics reports, in the shared Redis counters: 429 cooldowns started
and breaker openings (backfill_project/counters.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings

from backfill.limits import CircuitBreaker, LimitSettings, RateLimiter
from backfill.limits.connection import connect
from backfill_project import counters


@pytest.fixture
def redis_client() -> redis.Redis:
    return connect(django_settings.REDIS_URL)


@pytest.fixture
def prefix(redis_client) -> Iterator[str]:
    name = f"test-counting:{uuid.uuid4().hex}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


def total(name: str) -> int:
    return sum(counters.totals(name).values())


def test_a_cooldown_is_counted_when_it_starts_not_when_a_429_extends_it(redis_client, prefix):
    limiter = RateLimiter(
        redis_client,
        key_prefix=prefix,
        settings_provider=lambda: LimitSettings(min_delay_ms=100, max_delay_ms=1_000),
    )
    before = total(counters.COOLDOWNS)
    first = limiter.report_rate_limited(5.0)
    again = limiter.report_rate_limited(1.0)
    assert (first.new, again.new) == (True, False)
    assert total(counters.COOLDOWNS) == before + 1


def test_the_breaker_opening_is_counted_once_per_opening(redis_client, prefix):
    breaker = CircuitBreaker(redis_client, key_prefix=prefix, failure_threshold=2, cooldown_s=30)
    before = total(counters.BREAKER_OPENS)
    states = [breaker.record_failure() for _ in range(4)]
    # Failures of requests already out when it opened do not open it again.
    assert states == ["closed", "open", "open", "open"]
    assert total(counters.BREAKER_OPENS) == before + 1
