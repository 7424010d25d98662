"""Protecting the dashboard: the global rate limiter, the shared circuit breaker and the
intermediate response cache, all held in Redis and shared by every worker process."""

from .breaker import BreakerStatus, CircuitBreaker, Permit
from .cache import CacheStats, ResponseCache
from .config import LimitSettings, clear_settings_cache, current_settings
from .connection import get_redis
from .guard import (
    DashboardGuard,
    circuit_breaker,
    dashboard_guard,
    key_prefix,
    rate_limiter,
    response_cache,
)
from .limiter import Attempt, Cooldown, LimiterStatus, RateLimiter, WaitStopped
from .status import performance_status

__all__ = [
    "Attempt",
    "BreakerStatus",
    "CacheStats",
    "CircuitBreaker",
    "Cooldown",
    "DashboardGuard",
    "LimitSettings",
    "LimiterStatus",
    "Permit",
    "RateLimiter",
    "ResponseCache",
    "WaitStopped",
    "circuit_breaker",
    "clear_settings_cache",
    "current_settings",
    "dashboard_guard",
    "get_redis",
    "key_prefix",
    "performance_status",
    "rate_limiter",
    "response_cache",
]
