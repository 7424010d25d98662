"""Adaptive politeness and the window share reserved for priority jobs, against the real Redis
(`backfill/limits/limiter.py`). Every test has a key prefix of its own."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings

from backfill import limits
from backfill.limits import LimitSettings, RateLimiter, config
from backfill.limits.adaptive import ADAPT_STEP_MS
from backfill.limits.connection import connect
from backfill.models import JobPriority, RateLimitConfig
from tests.factories import BackfillJobFactory


class Knobs:
    def __init__(self, **values) -> None:
        self.value = LimitSettings(**values)

    def __call__(self) -> LimitSettings:
        return self.value


@pytest.fixture
def redis_client() -> redis.Redis:
    return connect(django_settings.REDIS_URL)


@pytest.fixture
def prefix(redis_client) -> Iterator[str]:
    name = f"test-adaptive:{uuid.uuid4().hex}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


def make_limiter(redis_client, prefix, *, interval_ms=0, share=0.2, **values) -> RateLimiter:
    knobs = Knobs(**{"max_requests": 1_000, "window_ms": 1_000, "min_delay_ms": 0, **values})
    return RateLimiter(
        redis_client,
        key_prefix=prefix,
        settings_provider=knobs,
        reserved_share=share,
        adapt_interval_ms=interval_ms,
    )


def answer(limiter: RateLimiter, latency_ms: float, times: int = 1):
    for _ in range(times):
        adaptation = limiter.observe(latency_ms=latency_ms)
    return adaptation


# -- adaptation -----------------------------------------------------------------------------


def test_steady_response_times_keep_the_configured_delay(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, min_delay_ms=100, max_delay_ms=5_000)
    for latency in itertools.islice(itertools.cycle((40, 60, 50, 45, 70)), 40):
        limiter.observe(latency_ms=latency)
    status = limiter.status()
    assert status.adaptive_reason == "normal"
    assert status.effective_delay_ms == 100
    assert 40 <= status.baseline_ms <= 70 and status.answers == 40


def test_slow_answers_raise_the_delay_up_to_the_maximum_and_it_relaxes_slowly(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, min_delay_ms=100, max_delay_ms=2_000)
    answer(limiter, 50, times=10)

    delays = []
    for _ in range(8):
        adaptation = limiter.observe(latency_ms=1_500)
        delays.append(adaptation.effective_delay_ms)
    assert adaptation.reason == "slow"
    # Doubling steps from the first step up, never beyond max_delay_ms.
    assert delays == sorted(delays) and delays[-1] == 2_000
    assert delays[0] == 100 + ADAPT_STEP_MS
    assert limiter.status().effective_delay_ms == 2_000

    relaxing = []
    for _ in range(40):
        adaptation = limiter.observe(latency_ms=50)
        relaxing.append(adaptation.effective_delay_ms)
    # Down by a fifth per normal answer once the recent average is back: never at once.
    first_down = next(i for i, d in enumerate(relaxing) if d < 2_000)
    assert relaxing[first_down] >= 100 + (2_000 - 100) * 0.8 - 1
    assert relaxing == sorted(relaxing, reverse=True)
    assert sum(1 for d in relaxing if 100 < d < 2_000) >= 10
    assert relaxing[-1] == 100
    assert limiter.status().adaptive_reason == "normal"


def test_the_delay_steps_at_most_once_per_interval_whatever_the_number_of_reports(
    redis_client, prefix
):
    limiter = make_limiter(redis_client, prefix, interval_ms=60_000, max_delay_ms=10_000)
    answer(limiter, 20, times=10)
    answer(limiter, 2_000, times=30)  # thirty workers reporting at once
    assert limiter.status().extra_delay_ms == ADAPT_STEP_MS


def test_clustered_errors_raise_the_delay_and_a_lone_error_does_not(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, max_delay_ms=5_000)
    answer(limiter, 30, times=10)
    lone = limiter.observe(latency_ms=None, failed=True)
    assert lone.reason == "normal" and lone.effective_delay_ms == 0
    answer(limiter, 30, times=3)

    limiter.observe(latency_ms=None, failed=True)
    cluster = limiter.observe(latency_ms=None, failed=True)
    assert cluster.reason == "errors"
    assert cluster.effective_delay_ms == ADAPT_STEP_MS


def test_the_adaptive_delay_spaces_grants(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, max_delay_ms=400)
    answer(limiter, 20, times=10)
    answer(limiter, 3_000, times=6)
    assert limiter.status().effective_delay_ms == 400
    times = []
    for _ in range(3):
        limiter.acquire()
        times.append(limiter.last_grant_at)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.400


def test_a_retry_after_wins_over_a_shorter_adaptive_delay(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, max_delay_ms=300)
    answer(limiter, 20, times=10)
    answer(limiter, 3_000, times=6)
    limiter.acquire()
    cooldown = limiter.report_rate_limited(1.0)
    limiter.acquire()
    assert limiter.last_grant_at >= cooldown.until
    assert cooldown.until - cooldown.started_at >= 1.0


def test_the_guard_measures_response_times_and_ignores_429s(redis_client, prefix):
    guard = limits.DashboardGuard(
        limiter=make_limiter(redis_client, f"{prefix}:rl", max_delay_ms=1_000),
        breaker=limits.CircuitBreaker(redis_client, key_prefix=f"{prefix}:br"),
        cache=None,
    )
    guard.before_request("u")
    time.sleep(0.2)
    guard.after_response("u", 200, None)
    measured = guard.limiter.status()
    assert measured.answers == 1 and measured.recent_ms >= 200

    guard.before_request("u")
    guard.after_response("u", 429, 0.05)
    assert guard.limiter.status().answers == 1  # the 429 backoff and Retry-After decide


# -- the share reserved for priority jobs ---------------------------------------------------


def test_other_jobs_use_only_the_unreserved_part_of_the_window(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, max_requests=10, window_ms=60_000, share=0.2)
    assert limiter.reserved_for_priority(limiter.settings_provider()) == 2
    normal = [limiter.try_acquire() for _ in range(9)]
    assert [a.granted for a in normal] == [True] * 8 + [False]
    assert normal[-1].wait_ms > 50_000  # until the oldest grant leaves the window

    priority = [limiter.try_acquire(priority=True) for _ in range(3)]
    assert [a.granted for a in priority] == [True, True, False]


def test_a_waiting_priority_request_goes_before_the_others(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, min_delay_ms=200, max_delay_ms=200)
    assert limiter.try_acquire().granted
    refused = limiter.try_acquire(priority=True)
    assert not refused.granted
    time.sleep(refused.wait_ms / 1000 + 0.02)
    # The spacing has passed, but the priority request waiting for it goes first.
    held = limiter.try_acquire()
    assert not held.granted
    assert limiter.try_acquire(priority=True).granted
    time.sleep(0.25)
    assert limiter.try_acquire().granted


def test_no_share_is_reserved_when_the_window_has_one_request(redis_client, prefix):
    limiter = make_limiter(redis_client, prefix, max_requests=1, window_ms=60_000, share=0.5)
    assert limiter.reserved_for_priority(limiter.settings_provider()) == 0
    assert limiter.try_acquire().granted


# -- status ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_performance_status_shows_the_effective_delay_and_why(redis_client, prefix, settings):
    settings.BACKFILL_PRIORITY_RESERVED_SHARE = 0.2
    config.clear_settings_cache()
    stored = RateLimitConfig.load()
    stored.max_requests, stored.min_delay_ms, stored.max_delay_ms = 10, 100, 1_000
    stored.save()
    config.clear_settings_cache()
    BackfillJobFactory(priority=JobPriority.DAILY)  # queued: the reserve is held for it
    before = limits.performance_status(redis_client=redis_client, prefix=prefix)["rateLimiter"]
    assert before["effectiveDelayMs"] == 100 and before["reservedForPriority"] == 2
    assert before["delayReason"].startswith("No response measured yet")

    limiter = limits.rate_limiter(redis_client=redis_client, prefix=prefix)
    answer(limiter, 40, times=10)
    answer(limiter, 2_000, times=3)

    status = limits.performance_status(redis_client=redis_client, prefix=prefix)["rateLimiter"]
    assert status["effectiveDelayMs"] == 100 + ADAPT_STEP_MS
    assert status["delayReason"].startswith("Slow responses (recent")
    assert status["adaptive"]["state"] == "slow"
    assert status["adaptive"]["baselineMs"] < status["adaptive"]["recentMs"]
    config.clear_settings_cache()
