"""The rate-limit settings the limiter enforces, read from `RateLimitConfig` with a short cache.

Workers never subscribe to changes: every process re-reads the single configuration row at most
every `SETTINGS_CACHE_SECONDS`, so a change made through the admin or the API reaches every running
worker within that many seconds, without a publish step that could be missed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..models import RateLimitConfig

SETTINGS_CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class LimitSettings:
    """What the limiter enforces: at most `max_requests` grants in any `window_ms`, at least
    `min_delay_ms` between two grants, 429 backoff from `min_delay_ms` growing by
    `backoff_multiplier` up to `max_delay_ms`, and `max_concurrent` units at a time."""

    max_requests: int = 10
    window_ms: int = 60_000
    min_delay_ms: int = 2_000
    max_delay_ms: int = 30_000
    backoff_multiplier: float = 2.0
    max_concurrent: int = 3

    @classmethod
    def from_config(cls, config: RateLimitConfig) -> LimitSettings:
        return cls(
            max_requests=config.max_requests,
            window_ms=config.window_ms,
            min_delay_ms=config.min_delay_ms,
            max_delay_ms=config.max_delay_ms,
            backoff_multiplier=config.backoff_multiplier,
            max_concurrent=config.max_concurrent,
        )


_lock = threading.Lock()
_cached: tuple[float, LimitSettings] | None = None


def current_settings() -> LimitSettings:
    """The configured limits, at most `SETTINGS_CACHE_SECONDS` old in this process.

    Raises django.db.DatabaseError when the configuration cannot be read and nothing is cached.
    """
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < SETTINGS_CACHE_SECONDS:
        return cached[1]
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < SETTINGS_CACHE_SECONDS:
            return _cached[1]
        limits = LimitSettings.from_config(RateLimitConfig.load())
        _cached = (time.monotonic(), limits)
        return limits


def clear_settings_cache() -> None:
    """Forget the cached settings so the next `current_settings()` reads the database (for the
    service that saves a new configuration in this process, and for tests)."""
    global _cached
    with _lock:
        _cached = None
