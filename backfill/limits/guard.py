"""The dashboard client's hooks: every request passes the breaker and the limiter, every answer
feeds them back, and responses may be served from the intermediate cache."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings

from districts.dashboard.errors import DashboardError

from .breaker import CircuitBreaker, Permit
from .cache import ResponseCache
from .config import LimitSettings, current_settings
from .connection import get_redis
from .limiter import RateLimiter

log = logging.getLogger(__name__)


def key_prefix() -> str:
    """The Redis key prefix of the limits (`settings.BACKFILL_LIMITS_KEY_PREFIX`)."""
    return settings.BACKFILL_LIMITS_KEY_PREFIX


def rate_limiter(
    *,
    redis_client: redis.Redis | None = None,
    prefix: str | None = None,
    settings_provider: Callable[[], LimitSettings] = current_settings,
) -> RateLimiter:
    """The global limiter (keys `<prefix>:ratelimit:*`; the share of each window reserved for
    priority jobs from settings `BACKFILL_PRIORITY_RESERVED_SHARE` (0.2))."""
    return RateLimiter(
        redis_client or get_redis(),
        key_prefix=f"{prefix or key_prefix()}:ratelimit",
        settings_provider=settings_provider,
    )


def circuit_breaker(
    *, redis_client: redis.Redis | None = None, prefix: str | None = None
) -> CircuitBreaker:
    """The shared breaker (keys `<prefix>:breaker:*`; threshold and cool-down from settings
    `BACKFILL_BREAKER_FAILURES` (5) and `BACKFILL_BREAKER_COOLDOWN_SECONDS` (30))."""
    return CircuitBreaker(
        redis_client or get_redis(), key_prefix=f"{prefix or key_prefix()}:breaker"
    )


def response_cache(
    *, redis_client: redis.Redis | None = None, prefix: str | None = None
) -> ResponseCache:
    """The intermediate cache (keys `<prefix>:cache:*`; caps from settings
    `BACKFILL_CACHE_TTL_SECONDS` (3600), `BACKFILL_CACHE_MAX_ENTRIES` (1000) and
    `BACKFILL_CACHE_MAX_BYTES` (50 MiB))."""
    return ResponseCache(
        redis_client or get_redis(),
        key_prefix=f"{prefix or key_prefix()}:cache",
    )


class DashboardGuard:
    """Hooks for `DashboardClient(before_request=..., after_response=..., cache=...)`.

    A request waiting on the limiter was admitted by the breaker before its wait, so at most the
    requests already waiting go out after the breaker opens; the half-open probe holds its
    reservation while it waits, so no second probe slips past it. `priority` marks the requests
    of a priority job (reserved share of the window, first in line). Each answer's response time
    (from the grant to the last byte) or failure feeds the limiter's adaptive delay.
    """

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        cache: ResponseCache | None,
        min_delay_ms: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        priority: bool = False,
    ) -> None:
        self.limiter = limiter
        self.breaker = breaker
        self.cache = cache
        self.min_delay_ms = min_delay_ms
        self.should_stop = should_stop
        self.priority = priority
        self._local = threading.local()

    def before_request(self, url: str) -> None:
        """Block until `url` may be requested. Raises DashboardError(fetch_failed, retryable)
        while the breaker is open, DashboardError(network_error, retryable) when Redis is
        unreachable, and limiter.WaitStopped when `should_stop` turns True while waiting."""
        permit = self.breaker.allow()
        try:
            self.limiter.acquire(
                min_delay_ms=self.min_delay_ms, should_stop=self.should_stop, priority=self.priority
            )
        except BaseException:
            self.breaker.release(permit)
            raise
        self._local.permit = permit
        self._local.sent_at = time.monotonic()

    def after_response(self, url: str, status: int | None, retry_after: float | None) -> None:
        """Feed an answer back: 429 starts the shared cooldown; 5xx, timeouts and network errors
        (status None) count towards opening the breaker (a 503's Retry-After is honoured too);
        anything else closes the breaker and resets the 429 backoff.

        Never raises: the request has been made, and failing the unit because Redis could not
        record its answer would only make it send the request again; the next `before_request`
        fails closed if Redis is still unreachable."""
        permit = getattr(self._local, "permit", None) or Permit()
        self._local.permit = None
        sent_at = getattr(self._local, "sent_at", None)
        self._local.sent_at = None
        latency_ms = None if sent_at is None else (time.monotonic() - sent_at) * 1000
        try:
            self._feed_back(status, retry_after, permit, latency_ms)
        except DashboardError as exc:
            log.warning("answer %s for %s not recorded: %s", status, url, exc)

    def _feed_back(
        self,
        status: int | None,
        retry_after: float | None,
        permit: Permit,
        latency_ms: float | None,
    ) -> None:
        if status == 429:
            # Not slowness: the Retry-After (and the 429 backoff) decide the pause.
            self.limiter.report_rate_limited(retry_after)
            self.breaker.release(permit)
        elif status is None or status >= 500:
            self.breaker.record_failure()
            if status == 503 and retry_after is not None:
                self.limiter.report_rate_limited(retry_after)
            self._adapt(latency_ms, failed=True)
        else:
            self.breaker.record_success()
            self.limiter.report_success()
            if latency_ms is not None:
                self._adapt(latency_ms, failed=False)

    def _adapt(self, latency_ms: float | None, *, failed: bool) -> None:
        adaptation = self.limiter.observe(latency_ms=latency_ms, failed=failed)
        if not adaptation.changed:
            return
        log.log(
            logging.WARNING if adaptation.reason in ("slow", "errors") else logging.INFO,
            "adaptive rate limit: %s -> %s, effective minimum delay %s ms (baseline %s ms, "
            "recent %s ms, error score %s)",
            adaptation.previous_reason,
            adaptation.reason,
            adaptation.effective_delay_ms,
            adaptation.baseline_ms,
            adaptation.recent_ms,
            adaptation.error_score,
        )


def dashboard_guard(
    *,
    min_delay_ms: int | None = None,
    enable_caching: bool = True,
    should_stop: Callable[[], bool] | None = None,
    redis_client: redis.Redis | None = None,
    prefix: str | None = None,
    priority: bool = False,
) -> DashboardGuard:
    """The guard of one job's client: the global limiter (with the job's `rateLimitDelayMs` as
    `min_delay_ms`, and `priority` for a priority job's requests), the shared breaker, and the
    cache unless `enable_caching` is False."""
    return DashboardGuard(
        limiter=rate_limiter(redis_client=redis_client, prefix=prefix),
        breaker=circuit_breaker(redis_client=redis_client, prefix=prefix),
        cache=response_cache(redis_client=redis_client, prefix=prefix) if enable_caching else None,
        min_delay_ms=min_delay_ms,
        should_stop=should_stop,
        priority=priority,
    )
