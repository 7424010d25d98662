"""The global rate limiter: every request any worker sends to the dashboard takes a grant here.

One Lua script decides and records a grant atomically, on Redis's own clock (`TIME`), so worker
clocks never matter and no two workers can both take the last slot:

- a sliding-window log (a sorted set of grant times): at most `max_requests` grants in any
  `window_ms`;
- the last grant time: at least `min_delay_ms` between any two grants, across all workers (a job's
  `rateLimitDelayMs` can only raise this minimum);
- a shared cooldown (set when the site answers 429): nothing is granted before it ends.

Both spacings get `JITTER_MARGIN_MS` on top, so the limits hold at the site's end too, where
arrival times carry a few milliseconds of jitter. A refusal comes back as the number of
milliseconds until a grant can succeed; the caller sleeps that long (in slices, so a cancelled
job stops waiting) and asks again. If Redis cannot be reached the
limiter fails closed: `acquire` raises a retryable `network_error` and no request goes out.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

from districts.dashboard.collect import CollectionCancelled
from districts.dashboard.errors import DashboardError, ErrorType

from .config import LimitSettings, current_settings
from .connection import redis_unavailable

# Grants are spaced this much beyond the configured window and minimum delay (the latter only when
# it is not 0), so that a request delayed on its way by up to this much (scheduling, a new
# connection) still never reaches the site closer to the next one than the limits allow.
JITTER_MARGIN_MS = 10
# A sleeping waiter looks at `should_stop` this often.
SLEEP_SLICE_S = 0.1
# The first 429 pauses at least this long even when the minimum delay is 0 (fast test configs).
MIN_BACKOFF_MS = 100
# A Retry-After beyond this is treated as this (an hour); units retry later anyway.
MAX_RETRY_AFTER_MS = 3_600_000

# Times in the scripts are integer microseconds of Redis's clock, formatted with %.0f because Lua
# prints numbers with 14 significant digits and epoch microseconds have 16.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_requests = tonumber(ARGV[1])
local margin = tonumber(ARGV[5]) * 1000
local window = tonumber(ARGV[2]) * 1000 + margin
local min_delay = tonumber(ARGV[3]) * 1000
if min_delay > 0 then min_delay = min_delay + margin end
local wait = 0
local cooldown_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if cooldown_until > now then wait = cooldown_until - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', KEYS[1])
if count >= max_requests then
  local index = count - max_requests
  local entry = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  local free_at = tonumber(entry[2]) + window
  if free_at - now > wait then wait = free_at - now end
end
local last = redis.call('GET', KEYS[2])
if last then
  local next_at = tonumber(last) + min_delay
  if next_at - now > wait then wait = next_at - now end
end
local stamp = string.format('%.0f', now)
if wait > 0 then return {math.ceil(wait / 1000), stamp} end
redis.call('ZADD', KEYS[1], stamp, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
redis.call('SET', KEYS[2], stamp, 'PX', math.ceil(min_delay / 1000) + 3600000)
return {0, stamp}
"""

_RATE_LIMITED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local retry_after = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local multiplier = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local previous = redis.call('GET', KEYS[2])
local backoff
if previous then backoff = tonumber(previous) * multiplier else backoff = base end
backoff = math.floor(math.min(backoff, cap))
redis.call('SET', KEYS[2], backoff, 'PX', math.max(cap * 4, 60000))
local pause = math.max(backoff, retry_after)
local until_at = now + pause * 1000
local existing = tonumber(redis.call('GET', KEYS[1]) or '0')
if existing > until_at then until_at = existing end
redis.call('SET', KEYS[1], string.format('%.0f', until_at), 'PX',
           math.ceil((until_at - now) / 1000) + 1000)
return {string.format('%.0f', now), string.format('%.0f', until_at), backoff}
"""

_STATUS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1]) * 1000
local since = string.format('(%.0f', now - window)
local count = redis.call('ZCOUNT', KEYS[1], since, '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local next_reset = 0
if oldest[2] then next_reset = math.ceil((tonumber(oldest[2]) + window - now) / 1000) end
local cooldown = 0
local cooldown_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if cooldown_until > now then cooldown = math.ceil((cooldown_until - now) / 1000) end
local backoff = tonumber(redis.call('GET', KEYS[3]) or '0')
return {count, next_reset, cooldown, backoff}
"""


class WaitStopped(CollectionCancelled):
    """The caller's `should_stop` answered True while waiting for a grant: nothing was sent.
    A `CollectionCancelled`, so a unit cancelled while it waits ends as cancelled."""


@dataclass(frozen=True)
class Attempt:
    """One decision of the limiter: granted (and recorded), or how long to wait."""

    granted: bool
    wait_ms: int
    server_time: float  # Redis's clock, epoch seconds, when the decision was taken


@dataclass(frozen=True)
class Cooldown:
    """The shared pause set by a 429: from `started_at` to `until` (Redis's clock, epoch s)."""

    started_at: float
    until: float
    backoff_ms: int


@dataclass(frozen=True)
class LimiterStatus:
    current_count: int
    max_requests: int
    window_ms: int
    min_delay_ms: int
    next_reset_ms: int
    cooldown_remaining_ms: int
    backoff_ms: int


class RateLimiter:
    """The limiter shared by every worker through Redis keys under `key_prefix`."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = "backfill:ratelimit",
        settings_provider: Callable[[], LimitSettings] = current_settings,
    ) -> None:
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.settings_provider = settings_provider
        self._grants_key = f"{key_prefix}:grants"
        self._last_key = f"{key_prefix}:last"
        self._cooldown_key = f"{key_prefix}:cooldown"
        self._backoff_key = f"{key_prefix}:backoff"
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._rate_limited = redis_client.register_script(_RATE_LIMITED)
        self._status = redis_client.register_script(_STATUS)
        self._local = threading.local()

    @property
    def last_grant_at(self) -> float | None:
        """Redis's clock (epoch seconds) at this thread's latest grant."""
        return getattr(self._local, "last_grant_at", None)

    def try_acquire(self, *, min_delay_ms: int | None = None) -> Attempt:
        """Take a grant now if the limits allow it (recording it), else say how long to wait.

        `min_delay_ms` raises the configured minimum delay for this caller; it never lowers it.
        Raises DashboardError(network_error, retryable) when Redis is unreachable.
        """
        limits = self.settings_provider()
        min_delay = max(limits.min_delay_ms, min_delay_ms or 0)
        try:
            wait_ms, stamp = self._acquire(
                keys=[self._grants_key, self._last_key, self._cooldown_key],
                args=[
                    max(1, limits.max_requests),
                    limits.window_ms,
                    min_delay,
                    uuid.uuid4().hex,
                    JITTER_MARGIN_MS,
                ],
            )
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="rate limiter") from exc
        server_time = int(stamp) / 1_000_000
        if int(wait_ms) == 0:
            self._local.last_grant_at = server_time
            return Attempt(granted=True, wait_ms=0, server_time=server_time)
        return Attempt(granted=False, wait_ms=int(wait_ms), server_time=server_time)

    def acquire(
        self,
        *,
        min_delay_ms: int | None = None,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> float:
        """Block until a grant is taken; return the seconds waited.

        Raises DashboardError(network_error, retryable) when Redis is unreachable (nothing is
        sent), DashboardError(rate_limit_error, retryable) when no grant can come within
        `timeout_s`, and WaitStopped when `should_stop()` turns True while waiting.
        """
        started = time.monotonic()
        deadline = None if timeout_s is None else started + timeout_s
        while True:
            attempt = self.try_acquire(min_delay_ms=min_delay_ms)
            if attempt.granted:
                return time.monotonic() - started
            pause = attempt.wait_ms / 1000
            if deadline is not None and time.monotonic() + pause > deadline:
                raise DashboardError(
                    ErrorType.RATE_LIMIT_ERROR,
                    f"no rate-limit grant within {timeout_s:g} s",
                    retryable=True,
                )
            _sleep(pause, should_stop)

    def report_rate_limited(self, retry_after_s: float | None = None) -> Cooldown:
        """Pause every worker: the shared cooldown becomes max(Retry-After, backoff), where the
        backoff starts at the minimum delay and grows by the multiplier with each 429 until
        `report_success`, capped at `max_delay_ms`. A running cooldown is never shortened.

        Raises DashboardError(network_error, retryable) when Redis is unreachable.
        """
        limits = self.settings_provider()
        retry_after_ms = 0 if retry_after_s is None else max(0, int(retry_after_s * 1000))
        try:
            started, until, backoff = self._rate_limited(
                keys=[self._cooldown_key, self._backoff_key],
                args=[
                    min(retry_after_ms, MAX_RETRY_AFTER_MS),
                    max(limits.min_delay_ms, MIN_BACKOFF_MS),
                    max(1.0, limits.backoff_multiplier),
                    max(limits.max_delay_ms, MIN_BACKOFF_MS),
                ],
            )
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="rate limiter") from exc
        return Cooldown(int(started) / 1_000_000, int(until) / 1_000_000, int(backoff))

    def report_success(self) -> None:
        """The site answered normally: the next 429 backs off from the start again."""
        try:
            self.redis.delete(self._backoff_key)
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="rate limiter") from exc

    def status(self) -> LimiterStatus:
        """The limiter as it stands (read-only). Raises redis.RedisError when unreachable."""
        limits = self.settings_provider()
        count, next_reset, cooldown, backoff = self._status(
            keys=[self._grants_key, self._cooldown_key, self._backoff_key],
            args=[limits.window_ms],
        )
        return LimiterStatus(
            current_count=int(count),
            max_requests=limits.max_requests,
            window_ms=limits.window_ms,
            min_delay_ms=limits.min_delay_ms,
            next_reset_ms=int(next_reset),
            cooldown_remaining_ms=int(cooldown),
            backoff_ms=int(backoff),
        )

    def clear(self) -> None:
        """Forget every grant, cooldown and backoff (tests, operators resetting the limiter)."""
        self.redis.delete(self._grants_key, self._last_key, self._cooldown_key, self._backoff_key)


def _sleep(seconds: float, should_stop: Callable[[], bool] | None) -> None:
    end = time.monotonic() + seconds
    while True:
        if should_stop is not None and should_stop():
            raise WaitStopped("stopped while waiting for the rate limiter")
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, SLEEP_SLICE_S))
