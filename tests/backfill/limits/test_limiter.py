"""The limits against the real Redis: limiter, breaker, cache, guard and status.

Every test works under a key prefix of its own and deletes only those keys afterwards; the shared
Redis server is never flushed. The Redis-outage tests start a private redis-server on a free port.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill import limits
from backfill.limits import (
    CircuitBreaker,
    LimitSettings,
    RateLimiter,
    ResponseCache,
    WaitStopped,
    config,
)
from backfill.limits.connection import connect
from backfill.models import RateLimitConfig
from districts.dashboard.errors import DashboardError, ErrorType
from tests.fixtures.redis import PrivateRedis


class Knobs:
    """A settings provider the test can change under a running limiter."""

    def __init__(self, **values) -> None:
        self.value = LimitSettings(**values)

    def __call__(self) -> LimitSettings:
        return self.value

    def set(self, **values) -> None:
        self.value = LimitSettings(**{**self.value.__dict__, **values})


@pytest.fixture
def redis_client() -> redis.Redis:
    return connect(django_settings.REDIS_URL)


@pytest.fixture
def prefix(redis_client) -> Iterator[str]:
    name = f"test-limits:{uuid.uuid4().hex}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


def make_limiter(redis_client, prefix, **values) -> tuple[RateLimiter, Knobs]:
    knobs = Knobs(**values)
    return RateLimiter(redis_client, key_prefix=prefix, settings_provider=knobs), knobs


# -- rate limiter ---------------------------------------------------------------------------------


def test_window_allows_at_most_max_requests_then_waits_for_the_oldest(redis_client, prefix):
    limiter, _ = make_limiter(redis_client, prefix, max_requests=3, window_ms=400, min_delay_ms=0)
    grants = [limiter.try_acquire() for _ in range(3)]
    refused = limiter.try_acquire()

    assert all(g.granted for g in grants)
    assert not refused.granted
    margin = limits.limiter.JITTER_MARGIN_MS / 1000
    expected = (grants[0].server_time + 0.4 + margin - refused.server_time) * 1000
    assert abs(refused.wait_ms - expected) <= 1
    time.sleep(refused.wait_ms / 1000)
    assert limiter.try_acquire().granted


def test_minimum_delay_spaces_every_grant(redis_client, prefix):
    limiter, _ = make_limiter(
        redis_client, prefix, max_requests=100, window_ms=10_000, min_delay_ms=80
    )
    times = []
    for _ in range(4):
        limiter.acquire()
        times.append(limiter.last_grant_at)

    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.080
    assert max(gaps) < 0.150


def test_job_minimum_delay_raises_the_global_one_but_never_lowers_it(redis_client, prefix):
    limiter, _ = make_limiter(
        redis_client, prefix, max_requests=100, window_ms=10_000, min_delay_ms=100
    )
    limiter.acquire(min_delay_ms=10)
    first = limiter.last_grant_at
    limiter.acquire(min_delay_ms=10)
    second = limiter.last_grant_at
    limiter.acquire(min_delay_ms=250)
    third = limiter.last_grant_at

    assert second - first >= 0.100
    assert third - second >= 0.250


def test_rate_limited_answer_pauses_every_grant_until_retry_after(redis_client, prefix):
    limiter, _ = make_limiter(
        redis_client, prefix, max_requests=100, window_ms=1_000, min_delay_ms=0
    )
    other_worker = RateLimiter(
        redis_client, key_prefix=prefix, settings_provider=limiter.settings_provider
    )
    cooldown = limiter.report_rate_limited(0.3)

    refused = other_worker.try_acquire()
    other_worker.acquire()

    assert cooldown.until - cooldown.started_at == pytest.approx(0.3, abs=0.001)
    assert not refused.granted and 250 <= refused.wait_ms <= 300
    assert other_worker.last_grant_at >= cooldown.until


def test_consecutive_rate_limits_grow_the_backoff_to_its_cap_and_success_resets_it(
    redis_client, prefix
):
    limiter, _ = make_limiter(
        redis_client, prefix, min_delay_ms=120, max_delay_ms=500, backoff_multiplier=2.0
    )
    backoffs = [limiter.report_rate_limited(None).backoff_ms for _ in range(5)]
    limiter.report_success()
    after_success = limiter.report_rate_limited(None)

    assert backoffs == [120, 240, 480, 500, 500]
    assert after_success.backoff_ms == 120


def test_cooldown_is_the_longer_of_retry_after_and_backoff_and_never_shortened(
    redis_client, prefix
):
    limiter, _ = make_limiter(redis_client, prefix, min_delay_ms=200, max_delay_ms=1_000)
    long = limiter.report_rate_limited(1.5)
    short = limiter.report_rate_limited(0.0)

    assert long.until - long.started_at == pytest.approx(1.5, abs=0.001)
    assert short.until == long.until
    assert short.backoff_ms == 400


def test_zero_minimum_delay_still_backs_off_after_a_rate_limit(redis_client, prefix):
    limiter, _ = make_limiter(redis_client, prefix, min_delay_ms=0, max_delay_ms=1_000)
    cooldown = limiter.report_rate_limited(None)
    assert cooldown.backoff_ms == limits.cooldown.MIN_BACKOFF_MS
    assert cooldown.until - cooldown.started_at == pytest.approx(0.1, abs=1e-5)


def test_acquire_gives_up_with_a_retryable_rate_limit_error_after_its_timeout(redis_client, prefix):
    limiter, _ = make_limiter(redis_client, prefix, max_requests=1, window_ms=5_000, min_delay_ms=0)
    limiter.acquire()
    started = time.monotonic()
    with pytest.raises(DashboardError) as raised:
        limiter.acquire(timeout_s=0.2)
    assert raised.value.error_type == ErrorType.RATE_LIMIT_ERROR and raised.value.retryable
    assert time.monotonic() - started < 0.1  # the wait is known up front: no pointless sleep


def test_should_stop_ends_a_wait_without_a_grant(redis_client, prefix):
    limiter, _ = make_limiter(redis_client, prefix, max_requests=1, window_ms=5_000, min_delay_ms=0)
    limiter.acquire()
    deadline = time.monotonic() + 0.3
    started = time.monotonic()
    with pytest.raises(WaitStopped):
        limiter.acquire(should_stop=lambda: time.monotonic() > deadline)
    assert time.monotonic() - started < 0.3 + limits.limiter.SLEEP_SLICE_S + 0.05
    assert limiter.status().current_count == 1


def test_lowered_limit_applies_to_the_next_request(redis_client, prefix):
    limiter, knobs = make_limiter(
        redis_client, prefix, max_requests=5, window_ms=5_000, min_delay_ms=0
    )
    for _ in range(3):
        assert limiter.try_acquire().granted
    knobs.set(max_requests=3)
    assert not limiter.try_acquire().granted


@pytest.mark.django_db
def test_config_change_reaches_running_limiters_within_the_cache_time(redis_client, prefix):
    config.clear_settings_cache()
    stored = RateLimitConfig.load()
    stored.max_requests, stored.window_ms, stored.min_delay_ms = 5, 5_000, 0
    stored.save()
    limiter = RateLimiter(redis_client, key_prefix=prefix)
    for _ in range(3):
        assert limiter.try_acquire().granted

    stored.max_requests = 3
    stored.save()
    changed_at = time.monotonic()
    while config.current_settings().max_requests != 3:
        assert time.monotonic() - changed_at < config.SETTINGS_CACHE_SECONDS + 0.5
        time.sleep(0.05)
    assert not limiter.try_acquire().granted
    config.clear_settings_cache()


@pytest.mark.django_db
def test_current_settings_are_the_configuration_row_and_are_cached(django_assert_num_queries):
    config.clear_settings_cache()
    stored = RateLimitConfig.load()
    stored.max_requests = 7
    stored.save()

    first = config.current_settings()
    with django_assert_num_queries(0):
        again = config.current_settings()

    assert (
        first
        == again
        == LimitSettings(
            max_requests=7,
            window_ms=stored.window_ms,
            min_delay_ms=stored.min_delay_ms,
            max_delay_ms=stored.max_delay_ms,
            backoff_multiplier=stored.backoff_multiplier,
            max_concurrent=stored.max_concurrent,
        )
    )
    config.clear_settings_cache()


# -- Redis outage (a private redis-server) --------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


def test_limiter_fails_closed_while_redis_is_down_and_recovers_after_restart(private_redis):
    limiter = RateLimiter(
        connect(private_redis.url),
        settings_provider=Knobs(max_requests=100, window_ms=1_000, min_delay_ms=0),
    )
    guard = limits.DashboardGuard(
        limiter=limiter, breaker=CircuitBreaker(limiter.redis), cache=None
    )
    sent = []

    def request(url: str) -> None:
        guard.before_request(url)
        sent.append(url)

    request("before")
    private_redis.kill()
    started = time.monotonic()
    with pytest.raises(DashboardError) as raised:
        request("during")
    assert raised.value.error_type == ErrorType.NETWORK_ERROR and raised.value.retryable
    assert "Redis" in raised.value.message
    assert time.monotonic() - started < 3

    private_redis.start()
    request("after")
    assert sent == ["before", "after"]


def test_status_reports_redis_unavailable_instead_of_failing(private_redis, db):
    private_redis.kill()
    status = limits.performance_status(redis_client=connect(private_redis.url), prefix="x")
    assert status["redisAvailable"] is False
    assert status["circuitBreaker"]["state"] is None


# -- circuit breaker ------------------------------------------------------------------------------


def make_breaker(redis_client, prefix, **kwargs) -> CircuitBreaker:
    return CircuitBreaker(
        redis_client, key_prefix=prefix, failure_threshold=3, cooldown_s=0.3, **kwargs
    )


def test_breaker_opens_after_consecutive_failures_and_fails_fast(redis_client, prefix):
    breaker = make_breaker(redis_client, prefix)
    states = [breaker.record_failure() for _ in range(3)]

    assert states == ["closed", "closed", "open"]
    with pytest.raises(DashboardError) as raised:
        breaker.allow()
    assert raised.value.error_type == ErrorType.FETCH_FAILED and raised.value.retryable
    assert "circuit open" in raised.value.message
    assert breaker.status().state == "open"


def test_success_between_failures_resets_the_count(redis_client, prefix):
    breaker = make_breaker(redis_client, prefix)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.record_failure() == "closed"
    assert breaker.status().failures == 1


def test_after_cooldown_exactly_one_probe_goes_and_its_success_closes(redis_client, prefix):
    breaker = make_breaker(redis_client, prefix)
    for _ in range(3):
        breaker.record_failure()
    time.sleep(0.35)

    permits, refusals = [], []

    def try_allow() -> None:
        other = make_breaker(redis_client, prefix)
        try:
            permits.append(other.allow())
        except DashboardError:
            refusals.append(1)

    threads = [threading.Thread(target=try_allow) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(permits) == 1 and permits[0].probe_token is not None
    assert len(refusals) == 7
    breaker.record_success()
    assert breaker.status().state == "closed"
    assert breaker.allow().probe_token is None


def test_failed_probe_opens_the_breaker_for_another_cooldown(redis_client, prefix):
    breaker = make_breaker(redis_client, prefix)
    for _ in range(3):
        breaker.record_failure()
    time.sleep(0.35)
    breaker.allow()

    assert breaker.record_failure() == "open"
    with pytest.raises(DashboardError):
        breaker.allow()
    time.sleep(0.35)
    assert breaker.allow().probe_token is not None


def test_probe_of_a_dead_worker_is_freed_after_its_ttl(redis_client, prefix):
    breaker = make_breaker(redis_client, prefix, probe_ttl_s=0.2)
    for _ in range(3):
        breaker.record_failure()
    time.sleep(0.35)
    breaker.allow()  # this probe's worker never reports
    with pytest.raises(DashboardError):
        breaker.allow()
    time.sleep(0.25)
    assert breaker.allow().probe_token is not None


# -- response cache -------------------------------------------------------------------------------


def test_cache_counts_hits_and_misses(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix)
    assert cache.get("http://x/a") is None
    cache.set("http://x/a", b"a,b\r\n1,2\r\n")

    assert cache.get("http://x/a") == b"a,b\r\n1,2\r\n"
    assert cache.get("http://x/a") == b"a,b\r\n1,2\r\n"
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.bytes) == (2, 1, 1, 10)
    assert stats.hit_rate == pytest.approx(2 / 3)


def test_cache_entries_expire_after_the_ttl(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix, ttl_s=0.2)
    cache.set("http://x/a", b"data")
    assert cache.get("http://x/a") == b"data"
    time.sleep(0.25)
    assert cache.get("http://x/a") is None
    assert (cache.stats().entries, cache.stats().bytes) == (0, 0)


def test_cache_evicts_the_least_recently_used_entry_at_the_entry_cap(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix, max_entries=2)
    cache.set("a", b"1")
    cache.set("b", b"2")
    cache.get("a")  # now b is the least recently used
    cache.set("c", b"3")

    assert cache.get("b") is None
    assert cache.get("a") == b"1" and cache.get("c") == b"3"
    assert cache.stats().entries == 2


def test_cache_evicts_until_the_byte_cap_holds(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix, max_bytes=100)
    cache.set("a", b"x" * 40)
    cache.set("b", b"x" * 40)
    cache.set("c", b"x" * 70)

    assert cache.get("a") is None and cache.get("b") is None
    assert cache.stats().bytes == 70


def test_cache_skips_a_body_larger_than_the_byte_cap(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix, max_bytes=10)
    cache.set("a", b"small")
    assert cache.set("b", b"x" * 11) is False
    assert cache.get("a") == b"small"
    assert cache.stats().bytes == 5


def test_cache_clear_forgets_entries_and_counters(redis_client, prefix):
    cache = ResponseCache(redis_client, key_prefix=prefix)
    cache.set("a", b"1")
    cache.get("a")
    cache.clear()
    assert cache.stats() == limits.CacheStats(hits=0, misses=0, entries=0, bytes=0)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operations=st.lists(
        st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 40)), max_size=40
    ),
    max_entries=st.integers(1, 5),
    max_bytes=st.integers(1, 100),
)
def test_cache_caps_and_byte_count_hold_for_any_sequence(
    redis_client, prefix, operations, max_entries, max_bytes
):
    cache = ResponseCache(
        redis_client,
        key_prefix=f"{prefix}:{uuid.uuid4().hex}",
        max_entries=max_entries,
        max_bytes=max_bytes,
    )
    stored: dict[str, bytes] = {}
    for is_set, key, size in operations:
        url = f"http://x/{key}"
        if is_set:
            data = bytes([key]) * size
            if cache.set(url, data):
                stored[url] = data
            else:
                stored.pop(url, None)
        else:
            found = cache.get(url)
            assert found is None or found == stored.get(url)
        stats = cache.stats()
        assert stats.entries <= max_entries
        assert stats.bytes <= max_bytes
    live = {url: cache.redis.hget(cache._keys[0], limits.cache._member(url)) for url in stored}
    assert cache.stats().bytes == sum(len(v) for v in live.values() if v is not None)
    cache.clear()


# -- guard and status -----------------------------------------------------------------------------


def make_guard(redis_client, prefix, *, enable_caching=True, **values) -> limits.DashboardGuard:
    knobs = Knobs(**{"max_requests": 100, "window_ms": 1_000, "min_delay_ms": 0, **values})
    return limits.DashboardGuard(
        limiter=RateLimiter(redis_client, key_prefix=f"{prefix}:rl", settings_provider=knobs),
        breaker=make_breaker(redis_client, f"{prefix}:br"),
        cache=ResponseCache(redis_client, key_prefix=f"{prefix}:c") if enable_caching else None,
    )


def test_guard_feeds_answers_back_to_breaker_and_limiter(redis_client, prefix):
    guard = make_guard(redis_client, prefix, min_delay_ms=100, max_delay_ms=1_000)
    guard.before_request("u")
    guard.after_response("u", 429, 0.05)
    assert guard.limiter.status().cooldown_remaining_ms > 50  # backoff 100 ms beats Retry-After

    for _ in range(2):
        guard.after_response("u", 503, None)
    guard.after_response("u", None, None)
    with pytest.raises(DashboardError, match="circuit open"):
        guard.before_request("u")
    assert guard.limiter.status().current_count == 1  # the refused request took no grant

    guard.breaker.clear()
    guard.after_response("u", 404, None)
    assert guard.limiter.status().backoff_ms == 0
    assert guard.breaker.status().failures == 0


def test_guard_returns_an_unused_probe_when_the_wait_is_stopped(redis_client, prefix):
    guard = make_guard(redis_client, prefix, min_delay_ms=5_000)
    guard.before_request("u")
    for _ in range(3):
        guard.breaker.record_failure()
    time.sleep(0.35)
    guard.should_stop = lambda: True
    with pytest.raises(WaitStopped):
        guard.before_request("u")
    assert guard.breaker.allow().probe_token is not None  # the probe slot was given back


def test_dashboard_guard_without_caching_has_no_cache(redis_client, prefix):
    assert limits.dashboard_guard(enable_caching=False, prefix=prefix).cache is None
    assert limits.dashboard_guard(prefix=prefix).cache is not None


@pytest.mark.django_db
def test_performance_status_reports_limiter_breaker_concurrency_and_cache(redis_client, prefix):
    config.clear_settings_cache()
    stored = RateLimitConfig.load()
    stored.max_requests, stored.window_ms, stored.min_delay_ms = 10, 60_000, 0
    stored.save()
    guard = limits.dashboard_guard(prefix=prefix, redis_client=redis_client)
    guard.before_request("u")
    guard.after_response("u", 200, None)
    guard.cache.get("u")
    guard.cache.set("u", b"abc")
    guard.cache.get("u")

    status = limits.performance_status(
        active_units=2, queued_units=7, redis_client=redis_client, prefix=prefix
    )

    assert status["redisAvailable"] is True
    limiter = status["rateLimiter"]
    assert limiter["currentCount"] == 1 and limiter["maxRequests"] == 10
    assert limiter["windowMs"] == 60_000 and 59_000 < limiter["nextResetMs"] <= 60_000
    assert limiter["cooldownRemainingMs"] == 0 and limiter["backoffMs"] == 0
    assert status["circuitBreaker"] == {"state": "closed", "failures": 0, "probeInMs": 0}
    assert status["concurrency"] == {"active": 2, "max": stored.max_concurrent, "queued": 7}
    assert status["intermediateCache"] == {
        "hits": 1,
        "misses": 1,
        "hitRate": 0.5,
        "entries": 1,
        "bytes": 3,
    }
    config.clear_settings_cache()


def test_cache_without_redis_misses_and_stores_nothing_instead_of_failing(private_redis):
    cache = ResponseCache(connect(private_redis.url))
    private_redis.kill()
    assert cache.get("http://x/a") is None
    assert cache.set("http://x/a", b"data") is False


def test_guard_does_not_fail_an_answered_request_when_redis_went_away(private_redis):
    client = connect(private_redis.url)
    guard = limits.DashboardGuard(
        limiter=RateLimiter(client, settings_provider=Knobs(min_delay_ms=0)),
        breaker=CircuitBreaker(client),
        cache=None,
    )
    guard.before_request("u")
    private_redis.kill()
    guard.after_response("u", 200, None)
    guard.after_response("u", 429, 1.0)
    with pytest.raises(DashboardError, match="Redis"):
        guard.before_request("u")
