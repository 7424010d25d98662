"""Timings, sizes and cache figures of the snapshot store, kept in Redis.

Every process that uses the store (web, workers, commands) records into the same Redis database,
so the performance endpoint shows the whole deployment, not one process. Each operation keeps its
last `WINDOW` durations (a capped list) plus running totals. Recording never fails a store
operation: when Redis is unreachable the figure is dropped and a warning is logged.

Figures are buffered per process and sent in one pipeline at most every `FLUSH_SECONDS` or
`FLUSH_RECORDS` records, at exit, when this process reads the figures, and when a worker ends a
unit (`flush()`): a district read costs microseconds, and two Redis round trips per read were
most of the time an analytics unit took.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)

PREFIX = "snapshots:perf"
WINDOW = 500
FLUSH_SECONDS = 1.0
FLUSH_RECORDS = 200
OPERATIONS = (
    "write_district",
    "finalize_snapshot",
    "archive_raw_csv",
    "read_district",
    "read_manifest",
    "read_raw_csv",
)


@dataclass(frozen=True)
class OperationFigures:
    count: int
    samples: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    bytes_total: int


@dataclass(frozen=True)
class CacheFigures:
    hits: int
    misses: int


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: a slow or absent Redis must not stall snapshot writes.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


class _Buffer:
    """Figures recorded by this process and not yet sent to Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.durations: dict[str, list[float]] = {}
        self.bytes: dict[str, int] = {}
        self.cache = {"hits": 0, "misses": 0}
        self.records = 0
        self.since = time.monotonic()

    def take(self) -> tuple[dict[str, list[float]], dict[str, int], dict[str, int]]:
        taken = (self.durations, self.bytes, self.cache)
        self.durations, self.bytes, self.cache = {}, {}, {"hits": 0, "misses": 0}
        self.records, self.since = 0, time.monotonic()
        return taken


_buffer = _Buffer()


def record_operation(*, operation: str, seconds: float, size: int = 0) -> None:
    """Record one finished store operation (its duration and the bytes it moved)."""
    with _buffer.lock:
        _buffer.durations.setdefault(operation, []).append(round(seconds * 1000, 3))
        if size:
            _buffer.bytes[operation] = _buffer.bytes.get(operation, 0) + size
        _buffer.records += 1
        due = _due()
    if due:
        flush()


def record_cache(*, hit: bool) -> None:
    """Count one district read served from (hit) or past (miss) the in-process cache."""
    with _buffer.lock:
        _buffer.cache["hits" if hit else "misses"] += 1
        _buffer.records += 1
        due = _due()
    if due:
        flush()


def _due() -> bool:
    return _buffer.records >= FLUSH_RECORDS or time.monotonic() - _buffer.since >= FLUSH_SECONDS


def flush() -> None:
    """Send this process's buffered figures to Redis (one pipeline); never raises."""
    with _buffer.lock:
        if not _buffer.records:
            return
        durations, sizes, cache_counts = _buffer.take()
    try:
        pipe = _redis().pipeline(transaction=False)
        for operation, values in durations.items():
            key = f"{PREFIX}:{operation}"
            pipe.lpush(f"{key}:ms", *values[-WINDOW:])  # the newest ends up first
            pipe.ltrim(f"{key}:ms", 0, WINDOW - 1)
            pipe.incrby(f"{key}:count", len(values))
            if sizes.get(operation):
                pipe.incrby(f"{key}:bytes", sizes[operation])
        for name, count in cache_counts.items():
            if count:
                pipe.incrby(f"{PREFIX}:cache:{name}", count)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("snapshot store: could not record its figures: %s", exc)


atexit.register(flush)


def operation_figures() -> dict[str, OperationFigures]:
    """Figures per operation over the recorded window. Raises redis.RedisError."""
    flush()
    client = _redis()
    pipe = client.pipeline(transaction=False)
    for operation in OPERATIONS:
        key = f"{PREFIX}:{operation}"
        pipe.lrange(f"{key}:ms", 0, -1)
        pipe.get(f"{key}:count")
        pipe.get(f"{key}:bytes")
    replies = pipe.execute()
    figures = {}
    for index, operation in enumerate(OPERATIONS):
        raw_ms, count, size = replies[3 * index : 3 * index + 3]
        durations = sorted(float(v) for v in raw_ms)
        figures[operation] = OperationFigures(
            count=int(count or 0),
            samples=len(durations),
            p50_ms=_percentile(durations, 50),
            p95_ms=_percentile(durations, 95),
            max_ms=durations[-1] if durations else None,
            bytes_total=int(size or 0),
        )
    return figures


def cache_figures() -> CacheFigures:
    """Cache hits and misses counted since the figures were last reset. Raises RedisError."""
    flush()
    hits, misses = _redis().mget(f"{PREFIX}:cache:hits", f"{PREFIX}:cache:misses")
    return CacheFigures(hits=int(hits or 0), misses=int(misses or 0))


def reset() -> None:
    """Forget every recorded figure (used by tests and after a maintenance window)."""
    with _buffer.lock:
        _buffer.take()
    client = _redis()
    keys = list(client.scan_iter(match=f"{PREFIX}:*", count=500))
    if keys:
        client.delete(*keys)


def _percentile(sorted_values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile: the smallest recorded value with `percent`% at or below it."""
    if not sorted_values:
        return None
    rank = max(1, -(-percent * len(sorted_values) // 100))
    return sorted_values[rank - 1]
