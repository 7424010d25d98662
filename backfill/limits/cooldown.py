"""The shared cooldown after a 429: every worker pauses until max(Retry-After, backoff), where
the backoff starts at the minimum delay and grows with each 429 until an answer succeeds
(`RateLimiter.report_rate_limited`, `RateLimiter.report_success`). A running cooldown is never
shortened."""

from __future__ import annotations

from dataclasses import dataclass

# The first 429 pauses at least this long even when the minimum delay is 0 (fast test configs).
MIN_BACKOFF_MS = 100
# A Retry-After beyond this is treated as this (an hour); units retry later anyway.
MAX_RETRY_AFTER_MS = 3_600_000

# Times in the script are integer microseconds of Redis's clock (see limiter.py).
RATE_LIMITED_SCRIPT = """
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
local started = 1
if existing > now then started = 0 end
if existing > until_at then until_at = existing end
redis.call('SET', KEYS[1], string.format('%.0f', until_at), 'PX',
           math.ceil((until_at - now) / 1000) + 1000)
return {string.format('%.0f', now), string.format('%.0f', until_at), backoff, started}
"""


@dataclass(frozen=True)
class Cooldown:
    """The shared pause set by a 429: from `started_at` to `until` (Redis's clock, epoch s)."""

    started_at: float
    until: float
    backoff_ms: int
    # False when this 429 only extended a cooldown that was already running.
    new: bool = True
