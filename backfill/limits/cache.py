"""The intermediate cache: dashboard responses in Redis by URL, with a TTL and LRU caps.

Entries live in one hash (URL hash -> bytes) indexed by two sorted sets, last access and expiry,
plus a hash of sizes and a total-bytes counter. Every get and set first drops expired entries and
then, for a set, evicts the least recently used until both the entry cap and the byte cap hold;
each runs as one Lua script, so the counters never drift from the entries.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis
from django.conf import settings

log = logging.getLogger(__name__)


# KEYS: 1 data, 2 lru, 3 expiry, 4 sizes, 5 bytes, 6 hits, 7 misses
_PURGE = """
local function purge(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now))
  for _, member in ipairs(expired) do
    local size = tonumber(redis.call('HGET', KEYS[4], member) or '0')
    redis.call('HDEL', KEYS[1], member)
    redis.call('HDEL', KEYS[4], member)
    redis.call('ZREM', KEYS[2], member)
    redis.call('ZREM', KEYS[3], member)
    redis.call('DECRBY', KEYS[5], size)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
purge(now)
"""

_GET = (
    _PURGE
    + """
local data = redis.call('HGET', KEYS[1], ARGV[1])
if not data then
  redis.call('INCR', KEYS[7])
  return false
end
redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[1])
redis.call('INCR', KEYS[6])
return data
"""
)

_SET = (
    _PURGE
    + """
local member = ARGV[1]
local data = ARGV[2]
local ttl = tonumber(ARGV[3]) * 1000
local max_entries = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5])
local size = string.len(data)
local previous = tonumber(redis.call('HGET', KEYS[4], member) or '0')
redis.call('DECRBY', KEYS[5], previous)
if size > max_bytes or max_entries < 1 then
  redis.call('HDEL', KEYS[1], member)
  redis.call('HDEL', KEYS[4], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
  return 0
end
redis.call('HSET', KEYS[1], member, data)
redis.call('HSET', KEYS[4], member, size)
redis.call('ZADD', KEYS[2], string.format('%.0f', now), member)
redis.call('ZADD', KEYS[3], string.format('%.0f', now + ttl), member)
local total = redis.call('INCRBY', KEYS[5], size)
local evicted = 0
while redis.call('ZCARD', KEYS[2]) > max_entries or total > max_bytes do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if oldest == member then
    oldest = redis.call('ZRANGE', KEYS[2], 1, 1)[1]
  end
  if not oldest then break end
  local oldest_size = tonumber(redis.call('HGET', KEYS[4], oldest) or '0')
  redis.call('HDEL', KEYS[1], oldest)
  redis.call('HDEL', KEYS[4], oldest)
  redis.call('ZREM', KEYS[2], oldest)
  redis.call('ZREM', KEYS[3], oldest)
  total = redis.call('DECRBY', KEYS[5], oldest_size)
  evicted = evicted + 1
end
return 1 + evicted
"""
)

_STATS = (
    _PURGE
    + """
return {redis.call('GET', KEYS[6]) or '0', redis.call('GET', KEYS[7]) or '0',
        redis.call('ZCARD', KEYS[2]), redis.call('GET', KEYS[5]) or '0'}
"""
)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class ResponseCache:
    """Response bodies by URL, shared by every worker; `get`/`set` fit the dashboard client's
    `cache` hook. The cache only saves requests: when Redis is unreachable `get` misses and `set`
    stores nothing (logged), and the limiter decides whether a request may go out."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = "backfill:cache",
        ttl_s: float | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.redis = redis_client
        self.ttl_s = settings.BACKFILL_CACHE_TTL_SECONDS if ttl_s is None else ttl_s
        self.max_entries = (
            settings.BACKFILL_CACHE_MAX_ENTRIES if max_entries is None else max_entries
        )
        self.max_bytes = settings.BACKFILL_CACHE_MAX_BYTES if max_bytes is None else max_bytes
        self._keys = [
            f"{key_prefix}:{name}"
            for name in ("data", "lru", "expiry", "sizes", "bytes", "hits", "misses")
        ]
        self._get = redis_client.register_script(_GET)
        self._set = redis_client.register_script(_SET)
        self._stats = redis_client.register_script(_STATS)

    def get(self, url: str) -> bytes | None:
        """The cached body of `url` (marking it recently used), or None; counts a hit or miss."""
        try:
            return self._get(keys=self._keys, args=[_member(url)])
        except redis.RedisError as exc:
            log.warning("response cache unavailable, %s not looked up: %s", url, exc)
            return None

    def set(self, url: str, data: bytes) -> bool:
        """Cache `data` for `url` for `ttl_s`, evicting least recently used entries to keep the
        caps; a body larger than `max_bytes` is not cached (returns False)."""
        try:
            stored = self._set(
                keys=self._keys,
                args=[
                    _member(url),
                    data,
                    int(self.ttl_s * 1000),
                    self.max_entries,
                    self.max_bytes,
                ],
            )
        except redis.RedisError as exc:
            log.warning("response cache unavailable, %s not stored: %s", url, exc)
            return False
        return int(stored) > 0

    def stats(self) -> CacheStats:
        """Hit and miss counts, live entries and bytes. Raises redis.RedisError."""
        hits, misses, entries, size = self._stats(keys=self._keys, args=[])
        return CacheStats(int(hits), int(misses), int(entries), int(size))

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        self.redis.delete(*self._keys)


def _member(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()
