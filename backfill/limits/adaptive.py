"""Adaptive politeness: the rate limiter's minimum delay follows how the dashboard answers.

Every answered request reports its response time (grant to last byte) or its failure (5xx,
timeout, network error) to `RateLimiter.observe`, one Lua script over a Redis hash shared by
all workers (`<prefix>:adaptive`):
- `baseline` is a slow moving average of response times (weight 0.05 per answer; 0.01 while the
  site is slow, so a slow spell does not become the new normal at once, while a lasting change
  still does); `recent` a fast one (0.3); `errors` a failure score (x 0.5 per answer, + 1 per
  failure: two failures in a row reach the threshold 1.5);
- the site is *slow* when `recent` > 2 x `baseline` + 100 ms (after 5 answers), *erring* when
  the score is >= 1.5. Then the extra delay doubles (at least 250 ms), at most once a second
  whatever the number of workers reporting, up to `max_delay_ms` - `min_delay_ms`;
- once neither holds, every normal answer (at most one a second) takes the extra delay down by a
  fifth, to 0 below 125 ms: it relaxes over tens of answers, never at once. With no answers
  (nothing sent) it stays where it was: the next request starts cautious;
- the effective minimum delay is `min_delay_ms` + the extra, at most `max_delay_ms`; a job's
  `rateLimitDelayMs` still raises it for that job.
A 429 is not part of it: its `Retry-After` always wins (the shared cooldown, cooldown.py, holds
every worker for the full value, whatever the adaptive state), and its own backoff applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import LimitSettings

# Adaptive politeness (module docstring): moving-average weights, thresholds and steps.
ADAPT_BASELINE_WEIGHT = 0.05
ADAPT_BASELINE_WEIGHT_SLOW = 0.01
ADAPT_RECENT_WEIGHT = 0.3
ADAPT_SLOW_FACTOR = 2.0
ADAPT_SLOW_MARGIN_MS = 100
ADAPT_WARMUP_ANSWERS = 5
ADAPT_ERROR_DECAY = 0.5
ADAPT_ERROR_CLUSTER = 1.5
ADAPT_STEP_MS = 250
ADAPT_GROWTH = 2.0
ADAPT_RELAX = 0.8
ADAPT_INTERVAL_MS = 1_000
# The adaptive state is forgotten after a day without answers.
ADAPT_TTL_MS = 86_400_000

# Times in the script are integer microseconds of Redis's clock (see limiter.py).
OBSERVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local latency = tonumber(ARGV[1])
local failed = tonumber(ARGV[2])
local cap = math.max(0, tonumber(ARGV[4]) - tonumber(ARGV[3]))
local p = cjson.decode(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'baseline_ms', 'recent_ms', 'errors', 'extra_ms', 'reason',
                     'stepped_at', 'answers')
local baseline = tonumber(h[1])
local recent = tonumber(h[2])
local errors = tonumber(h[3] or '0')
local extra = tonumber(h[4] or '0')
local previous_extra = extra
local previous = h[5] or 'normal'
local stepped = tonumber(h[6] or '0')
local answers = tonumber(h[7] or '0')
local function is_slow()
  return baseline ~= nil and answers >= p.warmup
    and recent > p.slow_factor * baseline + p.slow_margin
end
errors = errors * p.error_decay
if failed == 1 then
  errors = errors + 1
else
  if baseline == nil then
    baseline = latency
    recent = latency
  else
    recent = recent + p.recent_weight * (latency - recent)
    local weight = p.baseline_weight
    if is_slow() then weight = p.baseline_weight_slow end
    baseline = baseline + weight * (latency - baseline)
  end
  answers = answers + 1
end
local slow = is_slow()
local erring = errors >= p.error_cluster
local reason
if slow or erring then
  if now - stepped >= p.interval then
    extra = math.min(cap, math.max(p.step, math.floor(extra * p.growth)))
    stepped = now
  end
  if erring then reason = 'errors' else reason = 'slow' end
elseif extra > 0 then
  if failed == 0 and now - stepped >= p.interval then
    extra = math.floor(extra * p.relax)
    if extra < p.step / 2 then extra = 0 end
    stepped = now
  end
  if extra > 0 then reason = 'relaxing' else reason = 'normal' end
else
  reason = 'normal'
end
extra = math.min(extra, cap)
redis.call('HSET', KEYS[1], 'baseline_ms', tostring(baseline or 0), 'recent_ms',
           tostring(recent or 0), 'errors', tostring(errors), 'extra_ms', extra, 'reason', reason,
           'stepped_at', stepped, 'answers', answers)
redis.call('PEXPIRE', KEYS[1], p.ttl)
return {extra, reason, previous, tostring(baseline or 0), tostring(recent or 0), tostring(errors),
        math.min(tonumber(ARGV[3]) + extra, math.max(tonumber(ARGV[4]), tonumber(ARGV[3]))),
        previous_extra}
"""


@dataclass(frozen=True)
class Adaptation:
    """What one answer did to the adaptive delay: the extra delay now and the reason
    (`normal`, `slow`, `errors`, `relaxing`) now and before."""

    extra_ms: int
    reason: str
    previous_reason: str
    effective_delay_ms: int = 0
    baseline_ms: float = 0.0
    recent_ms: float = 0.0
    error_score: float = 0.0
    previous_extra_ms: int = 0

    @property
    def changed(self) -> bool:
        """The reason changed, or the delay grew: worth a log line."""
        return self.reason != self.previous_reason or self.extra_ms > self.previous_extra_ms


def effective_delay_ms(limits: LimitSettings, extra_ms: int) -> int:
    """The minimum delay in force: the configured one plus the adaptive extra, at most
    `max_delay_ms` (never below the configured minimum)."""
    return min(limits.min_delay_ms + extra_ms, max(limits.max_delay_ms, limits.min_delay_ms))


ADAPT_PARAMETERS = {
    "baseline_weight": ADAPT_BASELINE_WEIGHT,
    "baseline_weight_slow": ADAPT_BASELINE_WEIGHT_SLOW,
    "recent_weight": ADAPT_RECENT_WEIGHT,
    "slow_factor": ADAPT_SLOW_FACTOR,
    "slow_margin": ADAPT_SLOW_MARGIN_MS,
    "warmup": ADAPT_WARMUP_ANSWERS,
    "error_decay": ADAPT_ERROR_DECAY,
    "error_cluster": ADAPT_ERROR_CLUSTER,
    "step": ADAPT_STEP_MS,
    "growth": ADAPT_GROWTH,
    "relax": ADAPT_RELAX,
    "interval": ADAPT_INTERVAL_MS,
    "ttl": ADAPT_TTL_MS,
}
