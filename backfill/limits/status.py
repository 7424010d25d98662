"""`performance_status()`: what the limits look like right now, as camelCase-ready plain data."""

from __future__ import annotations

import logging

import redis

from .config import current_settings
from .guard import circuit_breaker, rate_limiter, response_cache

log = logging.getLogger(__name__)


def performance_status(
    *,
    active_units: int = 0,
    queued_units: int = 0,
    redis_client: redis.Redis | None = None,
    prefix: str | None = None,
) -> dict:
    """Limiter, breaker, concurrency and cache figures. `active_units` and `queued_units` come
    from the engine (running and pending units). When Redis is unreachable the Redis-held
    figures are None and `redisAvailable` is False; this selector never raises for that."""
    limits = current_settings()
    concurrency = {"active": active_units, "max": limits.max_concurrent, "queued": queued_units}
    try:
        limiter = rate_limiter(redis_client=redis_client, prefix=prefix).status()
        breaker = circuit_breaker(redis_client=redis_client, prefix=prefix).status()
        cache = response_cache(redis_client=redis_client, prefix=prefix).stats()
    except redis.RedisError as exc:
        log.warning("performance status without Redis: %s", exc)
        return {
            "redisAvailable": False,
            "rateLimiter": {
                "currentCount": None,
                "maxRequests": limits.max_requests,
                "windowMs": limits.window_ms,
                "minDelayMs": limits.min_delay_ms,
                "nextResetMs": None,
                "cooldownRemainingMs": None,
                "backoffMs": None,
            },
            "circuitBreaker": {"state": None, "failures": None, "probeInMs": None},
            "concurrency": concurrency,
            "intermediateCache": {
                "hits": None,
                "misses": None,
                "hitRate": None,
                "entries": None,
                "bytes": None,
            },
        }
    return {
        "redisAvailable": True,
        "rateLimiter": {
            "currentCount": limiter.current_count,
            "maxRequests": limiter.max_requests,
            "windowMs": limiter.window_ms,
            "minDelayMs": limiter.min_delay_ms,
            "nextResetMs": limiter.next_reset_ms,
            "cooldownRemainingMs": limiter.cooldown_remaining_ms,
            "backoffMs": limiter.backoff_ms,
        },
        "circuitBreaker": {
            "state": breaker.state,
            "failures": breaker.failures,
            "probeInMs": breaker.probe_in_ms,
        },
        "concurrency": concurrency,
        "intermediateCache": {
            "hits": cache.hits,
            "misses": cache.misses,
            "hitRate": round(cache.hit_rate, 4),
            "entries": cache.entries,
            "bytes": cache.bytes,
        },
    }
