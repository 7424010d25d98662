"""The circuit breaker shared by every worker: after repeated failures nobody calls the site.

closed -> open after `failure_threshold` consecutive failures (5xx, timeouts, network errors);
open fails fast for `cooldown_s`; then half-open lets exactly ONE probe through, across all
processes (a `SET NX PX` reservation); the probe's success closes the breaker, its failure opens
it for another cool-down. A probe whose worker dies frees its reservation after `probe_ttl_s`.

Why not pybreaker's `CircuitRedisStorage`: its state transitions are read-modify-write from the
client with an in-process lock only (danielfm/pybreaker#44), new instances could reset or strand
the shared counters (#24, #26), and half-open admits every caller that arrives during the probe
(no reservation; ParentSquare/faulty PR #70 describes that herd). Three short Lua scripts on
Redis's clock give atomic transitions and a single probe with less code than the adaptation would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis
from django.conf import settings

from backfill_project import counters
from districts.dashboard.errors import DashboardError, ErrorType

from .connection import redis_unavailable

# Longer than one request can take (connect + read timeouts), so a live probe keeps its slot.
DEFAULT_PROBE_TTL_S = 60.0

_ALLOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {1, state, 0} end
if state == 'open' then
  local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
  if now < open_until then return {0, state, math.ceil((open_until - now) / 1000)} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  return {1, 'half_open', 0}
end
return {0, 'half_open', redis.call('PTTL', KEYS[2])}
"""

_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if state ~= 'closed' or failures ~= 0 then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  redis.call('HDEL', KEYS[1], 'open_until')
  redis.call('DEL', KEYS[2])
end
return 'closed'
"""

_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local threshold = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2]) * 1000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'half_open' or (state == 'closed' and failures >= threshold) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', string.format('%.0f', now + cooldown))
  redis.call('DEL', KEYS[2])
  return {'open', 1}
end
return {state, 0}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Permit:
    """Leave to send one request; `probe_token` is set when it is the half-open probe."""

    probe_token: str | None = None


@dataclass(frozen=True)
class BreakerStatus:
    state: str  # closed, open, half_open
    failures: int
    probe_in_ms: int = 0  # while open: time until the half-open probe may go out


class CircuitBreaker:
    """The breaker whose state lives in Redis under `key_prefix`, shared by every process."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = "backfill:breaker",
        failure_threshold: int | None = None,
        cooldown_s: float | None = None,
        probe_ttl_s: float = DEFAULT_PROBE_TTL_S,
    ) -> None:
        self.redis = redis_client
        self.failure_threshold = failure_threshold or settings.BACKFILL_BREAKER_FAILURES
        self.cooldown_s = (
            cooldown_s if cooldown_s is not None else settings.BACKFILL_BREAKER_COOLDOWN_SECONDS
        )
        self.probe_ttl_s = probe_ttl_s
        self._state_key = f"{key_prefix}:state"
        self._probe_key = f"{key_prefix}:probe"
        self._allow = redis_client.register_script(_ALLOW)
        self._success = redis_client.register_script(_SUCCESS)
        self._failure = redis_client.register_script(_FAILURE)
        self._release = redis_client.register_script(_RELEASE)

    def allow(self) -> Permit:
        """Leave to send one request, or raise DashboardError(fetch_failed, retryable, "circuit
        open") while the breaker is open or another worker's probe is out. Raises
        DashboardError(network_error, retryable) when Redis is unreachable."""
        token = uuid.uuid4().hex
        try:
            allowed, state, retry_ms = self._allow(
                keys=[self._state_key, self._probe_key],
                args=[token, int(self.probe_ttl_s * 1000)],
            )
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="circuit breaker") from exc
        state = state.decode()
        if int(allowed):
            return Permit(probe_token=token if state == "half_open" else None)
        raise DashboardError(
            ErrorType.FETCH_FAILED,
            f"circuit open ({state}) after repeated dashboard failures; "
            f"next probe in about {int(retry_ms) / 1000:.1f} s",
            retryable=True,
            retry_after=max(0, int(retry_ms)) / 1000,
        )

    def record_success(self) -> None:
        """The site answered: close the breaker and reset the failure count."""
        self._run(self._success, [])

    def record_failure(self) -> str:
        """A 5xx, timeout or network error; returns the state after it (open or closed). The
        breaker opening is counted (`breaker_opens`, shared by every process)."""
        state, opened = self._run(
            self._failure, [self.failure_threshold, int(self.cooldown_s * 1000)]
        )
        if int(opened):
            counters.increment(counters.BREAKER_OPENS)
        return state.decode()

    def release(self, permit: Permit) -> None:
        """Give back an unused probe reservation (the request was never sent)."""
        if permit.probe_token is not None:
            try:
                self._release(keys=[self._probe_key], args=[permit.probe_token])
            except redis.RedisError as exc:
                raise redis_unavailable(exc, what="circuit breaker") from exc

    def status(self) -> BreakerStatus:
        """The shared state (read-only); an open breaker whose cool-down is over reads as
        half_open, since the next request will be the probe. Raises redis.RedisError."""
        raw = self.redis.hgetall(self._state_key)
        state = raw.get(b"state", b"closed").decode()
        probe_in_ms = 0
        if state == "open":
            seconds, micros = self.redis.time()
            left_us = int(raw.get(b"open_until", b"0")) - (seconds * 1_000_000 + micros)
            if left_us <= 0:
                state = "half_open"
            else:
                probe_in_ms = -(-left_us // 1000)
        failures = int(raw.get(b"failures", b"0"))
        return BreakerStatus(state=state, failures=failures, probe_in_ms=probe_in_ms)

    def clear(self) -> None:
        """Close the breaker and forget its history."""
        self.redis.delete(self._state_key, self._probe_key)

    def _run(self, script, args: list):
        try:
            return script(keys=[self._state_key, self._probe_key], args=args)
        except redis.RedisError as exc:
            raise redis_unavailable(exc, what="circuit breaker") from exc
