"""`performance_status()`: what the limits look like right now, as camelCase-ready plain data."""

from __future__ import annotations

import logging

import redis

from .config import current_settings
from .guard import circuit_breaker, rate_limiter, response_cache
from .limiter import LimiterStatus

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
    global_limiter = rate_limiter(redis_client=redis_client, prefix=prefix)
    reserved = global_limiter.held_back(limits, priority=False)
    try:
        limiter = global_limiter.status()
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
                "reservedForPriority": reserved,
                "effectiveDelayMs": None,
                "delayReason": "Redis unreachable: no request leaves.",
                "adaptive": None,
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
            "reservedForPriority": limiter.reserved_for_priority,
            "effectiveDelayMs": limiter.effective_delay_ms,
            "delayReason": delay_reason(limiter),
            "adaptive": {
                "state": limiter.adaptive_reason or "normal",
                "extraDelayMs": limiter.extra_delay_ms,
                "baselineMs": limiter.baseline_ms,
                "recentMs": limiter.recent_ms,
                "errorScore": limiter.error_score,
                "answers": limiter.answers,
            },
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


def delay_reason(limiter: LimiterStatus) -> str:
    """Why the effective minimum delay is what it is, in one sentence (API, admin, logs)."""
    configured = f"the configured minimum delay ({limiter.min_delay_ms} ms)"
    figures = (
        f"recent {limiter.recent_ms:.0f} ms, baseline {limiter.baseline_ms:.0f} ms"
        if limiter.recent_ms is not None and limiter.baseline_ms is not None
        else "no response time measured"
    )
    raised = f"{limiter.effective_delay_ms} ms: {configured} + {limiter.extra_delay_ms} ms"
    match limiter.adaptive_reason:
        case "slow":
            return f"Slow responses ({figures}): the delay is raised to {raised}."
        case "errors":
            return (
                f"Errors cluster (score {limiter.error_score:g}): the delay is raised to {raised}."
            )
        case "relaxing":
            return f"Responses normal again ({figures}): relaxing slowly, now {raised}."
        case "normal" if limiter.answers:
            return f"Responses normal ({figures}): {configured}."
        case _:
            return f"No response measured yet: {configured}."
