"""The global rate limiter: every request any worker sends to the dashboard takes a grant here.

One Lua script decides and records a grant atomically, on Redis's own clock (`TIME`), so worker
clocks never matter and no two workers can both take the last slot:

- a sliding-window log (a sorted set of grant times): at most `max_requests` grants in any
  `window_ms`;
- the last grant time: at least `min_delay_ms` between any two grants, across all workers (a job's
  `rateLimitDelayMs` can only raise this minimum);
- a shared cooldown (set when the site answers 429): nothing is granted before it ends;
- priority: a request of a priority job (the daily refresh, urgent jobs) may use the whole window,
  any other only `max_requests` minus the share reserved for priority jobs
  (`reserved_share`, settings.BACKFILL_PRIORITY_RESERVED_SHARE, 20 %) while a priority job is
  queued or in flight, so a long backfill never takes the slots the daily run needs; the reserve
  is lent to the others while none is (`reserve.priority_jobs_present`), so no budget is left
  unused; and while a priority request waits, no other is granted (it goes first when its wait
  ends, so a priority job's first request is granted within one window even when the others
  had the whole window);
- adaptation: the minimum delay grows while the dashboard answers slowly or errors cluster
  and relaxes slowly once it recovers (backfill/limits/adaptive.py: "adaptive politeness").

Both spacings get `JITTER_MARGIN_MS` on top, so the limits hold at the site's end too, where
arrival times carry a few milliseconds of jitter. A refusal comes back as the number of
milliseconds until a grant can succeed; the caller sleeps that long (in slices, so a cancelled
job stops waiting) and asks again. If Redis cannot be reached the
limiter fails closed: `acquire` raises a retryable `network_error` and no request goes out.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings

from backfill_project import counters
from districts.dashboard.collect import CollectionCancelled
from districts.dashboard.errors import DashboardError, ErrorType

from .adaptive import (
    ADAPT_INTERVAL_MS,
    ADAPT_PARAMETERS,
    OBSERVE_SCRIPT,
    Adaptation,
    effective_delay_ms,
)
from .config import LimitSettings, current_settings
from .connection import redis_unavailable
from .cooldown import MAX_RETRY_AFTER_MS, MIN_BACKOFF_MS, RATE_LIMITED_SCRIPT, Cooldown
from .reserve import priority_jobs_present

# Grants are spaced this much beyond the configured window and minimum delay (the latter only when
# it is not 0), so that a request delayed on its way by up to this much (scheduling, a new
# connection) still never reaches the site closer to the next one than the limits allow.
JITTER_MARGIN_MS = 10
# A sleeping waiter looks at `should_stop` this often.
SLEEP_SLICE_S = 0.1

# A waiting priority request holds the others back this long beyond its own wait, so that it is
# back (its sleep ends in slices of SLEEP_SLICE_S) before they may take its grant.
PRIORITY_HOLD_MS = 300

# Times in the scripts are integer microseconds of Redis's clock, formatted with %.0f because Lua
# prints numbers with 14 significant digits and epoch microseconds have 16.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_requests = tonumber(ARGV[1])
local margin = tonumber(ARGV[5]) * 1000
local window = tonumber(ARGV[2]) * 1000 + margin
local config_min = tonumber(ARGV[3])
local job_min = tonumber(ARGV[6])
local max_delay = tonumber(ARGV[7])
local priority = tonumber(ARGV[8])
local reserved = tonumber(ARGV[9])
local extra = tonumber(redis.call('HGET', KEYS[4], 'extra_ms') or '0')
local min_delay_ms = math.min(config_min + extra, math.max(max_delay, config_min))
if job_min > min_delay_ms then min_delay_ms = job_min end
local min_delay = min_delay_ms * 1000
if min_delay > 0 then min_delay = min_delay + margin end
local cap = max_requests
if priority == 0 then cap = math.max(1, max_requests - reserved) end
local wait = 0
local cooldown_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if cooldown_until > now then wait = cooldown_until - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', KEYS[1])
if count >= cap then
  local index = count - cap
  local entry = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  local free_at = tonumber(entry[2]) + window
  if free_at - now > wait then wait = free_at - now end
end
local last = redis.call('GET', KEYS[2])
if last then
  local next_at = tonumber(last) + min_delay
  if next_at - now > wait then wait = next_at - now end
end
if priority == 0 then
  local held = redis.call('PTTL', KEYS[5])
  if held > 0 and held * 1000 > wait then wait = held * 1000 end
end
local stamp = string.format('%.0f', now)
if wait > 0 then
  if priority == 1 then
    redis.call('SET', KEYS[5], '1', 'PX', math.ceil(wait / 1000) + tonumber(ARGV[10]))
  end
  return {math.ceil(wait / 1000), stamp}
end
if priority == 1 then redis.call('DEL', KEYS[5]) end
redis.call('ZADD', KEYS[1], stamp, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
redis.call('SET', KEYS[2], stamp, 'PX', math.ceil(min_delay / 1000) + 3600000)
return {0, stamp}
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
local adaptive = redis.call('HMGET', KEYS[4], 'extra_ms', 'reason', 'baseline_ms', 'recent_ms',
                            'errors', 'answers')
return {count, next_reset, cooldown, backoff, adaptive[1] or '0', adaptive[2] or '',
        adaptive[3] or '', adaptive[4] or '', adaptive[5] or '0', adaptive[6] or '0'}
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
class LimiterStatus:
    current_count: int
    max_requests: int
    window_ms: int
    min_delay_ms: int
    next_reset_ms: int
    cooldown_remaining_ms: int
    backoff_ms: int
    # Adaptive politeness: the minimum delay in force, why, and what it was judged from.
    effective_delay_ms: int = 0
    adaptive_reason: str = "normal"  # normal, slow, errors, relaxing; "" before any answer
    extra_delay_ms: int = 0
    baseline_ms: float | None = None
    recent_ms: float | None = None
    error_score: float = 0.0
    answers: int = 0
    # Held back from normal requests now: the reserve, or 0 while it is lent (no priority job).
    reserved_for_priority: int = 0


class RateLimiter:
    """The limiter shared by every worker through Redis keys under `key_prefix`."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = "backfill:ratelimit",
        settings_provider: Callable[[], LimitSettings] = current_settings,
        reserved_share: float | None = None,
        adapt_interval_ms: int = ADAPT_INTERVAL_MS,
        priority_present: Callable[[], bool] = priority_jobs_present,
    ) -> None:
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.settings_provider = settings_provider
        if reserved_share is None:
            reserved_share = settings.BACKFILL_PRIORITY_RESERVED_SHARE
        self.reserved_share = min(max(reserved_share, 0.0), 1.0)
        # Is the reserve needed now (a priority job queued or in flight)? Else it is lent.
        self.priority_present = priority_present
        self._adapt_parameters = json.dumps({**ADAPT_PARAMETERS, "interval": adapt_interval_ms})
        self._grants_key = f"{key_prefix}:grants"
        self._last_key = f"{key_prefix}:last"
        self._cooldown_key = f"{key_prefix}:cooldown"
        self._backoff_key = f"{key_prefix}:backoff"
        self._adaptive_key = f"{key_prefix}:adaptive"
        self._priority_key = f"{key_prefix}:priority-waiting"
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._rate_limited = redis_client.register_script(RATE_LIMITED_SCRIPT)
        self._status = redis_client.register_script(_STATUS)
        self._observe = redis_client.register_script(OBSERVE_SCRIPT)
        self._local = threading.local()

    @property
    def last_grant_at(self) -> float | None:
        """Redis's clock (epoch seconds) at this thread's latest grant."""
        return getattr(self._local, "last_grant_at", None)

    def reserved_for_priority(self, limits: LimitSettings) -> int:
        """Grants of each window only priority requests may take: the reserved share of
        `max_requests`, rounded down, leaving at least one for the others."""
        return max(0, min(int(limits.max_requests * self.reserved_share), limits.max_requests - 1))

    def held_back(self, limits: LimitSettings, *, priority: bool) -> int:
        """Grants of the window a request may not take: the reserve, for a normal request while
        a priority job is queued or in flight; none otherwise (the reserve is lent)."""
        if priority or not self.reserved_share or not self.priority_present():
            return 0
        return self.reserved_for_priority(limits)

    def try_acquire(self, *, min_delay_ms: int | None = None, priority: bool = False) -> Attempt:
        """Take a grant now if the limits allow it (recording it), else say how long to wait.

        `min_delay_ms` raises the (adaptive) minimum delay for this caller; it never lowers it.
        `priority` requests may use the reserved share of the window and go before the others
        while they wait; the others may use it too while no priority job is queued or in
        flight. Raises DashboardError(network_error, retryable) when Redis is unreachable.
        """
        limits = self.settings_provider()
        held_back = self.held_back(limits, priority=priority)
        try:
            wait_ms, stamp = self._acquire(
                keys=[
                    self._grants_key,
                    self._last_key,
                    self._cooldown_key,
                    self._adaptive_key,
                    self._priority_key,
                ],
                args=[
                    max(1, limits.max_requests),
                    limits.window_ms,
                    limits.min_delay_ms,
                    uuid.uuid4().hex,
                    JITTER_MARGIN_MS,
                    min_delay_ms or 0,
                    limits.max_delay_ms,
                    1 if priority else 0,
                    held_back,
                    PRIORITY_HOLD_MS,
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
        priority: bool = False,
    ) -> float:
        """Block until a grant is taken (`priority` as in `try_acquire`); return the seconds
        waited.

        Raises DashboardError(network_error, retryable) when Redis is unreachable (nothing is
        sent), DashboardError(rate_limit_error, retryable) when no grant can come within
        `timeout_s`, and WaitStopped when `should_stop()` turns True while waiting.
        """
        started = time.monotonic()
        deadline = None if timeout_s is None else started + timeout_s
        while True:
            attempt = self.try_acquire(min_delay_ms=min_delay_ms, priority=priority)
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
            started, until, backoff, new = self._rate_limited(
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
        if int(new):
            counters.increment(counters.COOLDOWNS)
        return Cooldown(
            int(started) / 1_000_000, int(until) / 1_000_000, int(backoff), new=bool(int(new))
        )

    def report_success(self) -> None:
        """The site answered normally: the next 429 backs off from the start again."""
        try:
            self.redis.delete(self._backoff_key)
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="rate limiter") from exc

    def observe(self, *, latency_ms: float | None, failed: bool = False) -> Adaptation:
        """Feed one answer to the adaptive delay (backfill/limits/adaptive.py): its response
        time, or `failed` for a 5xx, timeout or network error. Returns what it did.

        Raises DashboardError(network_error, retryable) when Redis is unreachable.
        """
        limits = self.settings_provider()
        try:
            extra, reason, previous, baseline, recent, errors, effective, before = self._observe(
                keys=[self._adaptive_key],
                args=[
                    max(0.0, latency_ms or 0.0),
                    1 if failed else 0,
                    limits.min_delay_ms,
                    limits.max_delay_ms,
                    self._adapt_parameters,
                ],
            )
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="rate limiter") from exc
        return Adaptation(
            extra_ms=int(extra),
            reason=_text(reason),
            previous_reason=_text(previous),
            effective_delay_ms=int(effective),
            baseline_ms=round(float(baseline), 1),
            recent_ms=round(float(recent), 1),
            error_score=round(float(errors), 2),
            previous_extra_ms=int(before),
        )

    def status(self) -> LimiterStatus:
        """The limiter as it stands (read-only). Raises redis.RedisError when unreachable."""
        limits = self.settings_provider()
        count, next_reset, cooldown, backoff, extra, reason, baseline, recent, errors, answers = (
            self._status(
                keys=[
                    self._grants_key,
                    self._cooldown_key,
                    self._backoff_key,
                    self._adaptive_key,
                ],
                args=[limits.window_ms],
            )
        )
        extra_ms = int(float(extra))
        answered = int(float(answers)) > 0
        return LimiterStatus(
            current_count=int(count),
            max_requests=limits.max_requests,
            window_ms=limits.window_ms,
            min_delay_ms=limits.min_delay_ms,
            next_reset_ms=int(next_reset),
            cooldown_remaining_ms=int(cooldown),
            backoff_ms=int(backoff),
            effective_delay_ms=effective_delay_ms(limits, extra_ms),
            adaptive_reason=_text(reason),
            extra_delay_ms=extra_ms,
            baseline_ms=round(float(baseline), 1) if answered else None,
            recent_ms=round(float(recent), 1) if answered else None,
            error_score=round(float(errors), 2),
            answers=int(float(answers)),
            reserved_for_priority=self.held_back(limits, priority=False),
        )

    def clear(self) -> None:
        """Forget every grant, cooldown, backoff and the adaptive state (tests, operators
        resetting the limiter)."""
        self.redis.delete(
            self._grants_key,
            self._last_key,
            self._cooldown_key,
            self._backoff_key,
            self._adaptive_key,
            self._priority_key,
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _sleep(seconds: float, should_stop: Callable[[], bool] | None) -> None:
    end = time.monotonic() + seconds
    while True:
        if should_stop is not None and should_stop():
            raise WaitStopped("stopped while waiting for the rate limiter")
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, SLEEP_SLICE_S))
