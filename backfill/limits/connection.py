"""The one Redis connection of the limits (limiter, breaker, cache), and how its failure reads."""

from __future__ import annotations

import threading

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from districts.dashboard.errors import DashboardError, ErrorType

# A dead Redis must fail a request fast (fail closed), not hang a worker: short timeouts and one
# immediate retry, which is enough to replace a pooled connection broken by a Redis restart.
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 2.0

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def connect(url: str) -> redis.Redis:
    """A new client for `url` with the limits' timeouts (binary replies, no decoding)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    """The process-wide client for `settings.REDIS_URL` (one per URL; redis-py re-creates its
    pooled connections after a fork, so Celery's prefork children can share this accessor)."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = connect(url)
    return client


def redis_unavailable(exc: redis.RedisError, *, what: str) -> DashboardError:
    """The error a unit sees when Redis cannot be reached: retryable, and nothing was sent."""
    return DashboardError(
        ErrorType.NETWORK_ERROR,
        f"{what}: Redis unreachable, no request sent ({exc.__class__.__name__}: {exc})",
        retryable=True,
    )
