"""Counters shared by every process, kept in Redis: what `/metrics` reports as `_total`.

A Prometheus counter must only grow. Kept in one process it would restart from 0 with every
worker, and each worker would hold a part of the total; kept here (one `HINCRBY` on a hash under
the limits key prefix, `<BACKFILL_LIMITS_KEY_PREFIX>:metrics:<name>`, one field per label value),
every process adds to the same total and a restarted process loses nothing. A Redis restart
without persistence resets them, which Prometheus reads as a counter reset (`rate()` copes).

`per_minute=True` also counts into a per-day hash of minutes (`...:<name>:minutes:<YYYY-MM-DD>`,
kept 32 days), which the admin's Operations page reads for "requests per minute".

Counting never fails its caller: the request, the cooldown or the reclaim it counts has happened,
and a Redis that cannot record it is logged at DEBUG (the limits fail closed on their own).
This module sits in the project package so that the dashboard client (districts) may count.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings

log = logging.getLogger(__name__)

# The counters' names (the metric names of monitoring/collectors.py add `backfill_` and `_total`).
DASHBOARD_REQUESTS = "dashboard_requests"  # labelled by outcome (request_outcome below)
COOLDOWNS = "dashboard_cooldowns"  # 429 (or 503 Retry-After) pauses started
BREAKER_OPENS = "breaker_opens"  # closed or half-open -> open
LEASE_RECLAIMS = "lease_reclaims"  # running units whose holder was lost, sent again

MINUTES_KEPT_DAYS = 32
# A counter is not worth a stalled request: short timeouts, no retry.
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 1.0

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(
                url,
                redis.Redis.from_url(
                    url,
                    socket_connect_timeout=CONNECT_TIMEOUT_S,
                    socket_timeout=SOCKET_TIMEOUT_S,
                    decode_responses=True,
                ),
            )
    return client


def _key(name: str) -> str:
    return f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:metrics:{name}"


def _minutes_key(name: str, day: str) -> str:
    return f"{_key(name)}:minutes:{day}"


def increment(
    name: str,
    label: str = "",
    amount: int = 1,
    *,
    per_minute: bool = False,
    now: float | None = None,
) -> None:
    """Add `amount` to counter `name` (field `label`); with `per_minute`, also to the minute of
    `now` (epoch seconds, default the clock). Never raises."""
    if amount <= 0:
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(_key(name), label, amount)
        if per_minute:
            moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
            minutes = _minutes_key(name, moment.date().isoformat())
            pipe.hincrby(minutes, f"{moment.hour * 60 + moment.minute}", amount)
            pipe.expire(minutes, MINUTES_KEPT_DAYS * 86_400)
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("counter %s %s not counted: %s", name, label, exc)


def totals(name: str) -> dict[str, int]:
    """Every label's total of counter `name` ({} before the first count). Raises
    redis.RedisError when Redis is unreachable."""
    return {label: int(value) for label, value in _redis().hgetall(_key(name)).items()}


def per_minute(name: str, *, since: datetime, until: datetime) -> dict[datetime, int]:
    """The counts of `name` per minute (UTC, minutes with a count only) from `since` to `until`.
    Raises redis.RedisError when Redis is unreachable."""
    days = []
    day = since.astimezone(UTC).date()
    while day <= until.astimezone(UTC).date():
        days.append(day)
        day += timedelta(days=1)
    pipe = _redis().pipeline(transaction=False)
    for day in days:
        pipe.hgetall(_minutes_key(name, day.isoformat()))
    counts: dict[datetime, int] = {}
    for day, minutes in zip(days, pipe.execute(), strict=True):
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for minute, value in minutes.items():
            moment = midnight + timedelta(minutes=int(minute))
            if since <= moment <= until:
                counts[moment] = int(value)
    return counts


def request_outcome(status: int | None, error_type: str | None) -> str:
    """How one request to the dashboard ended, as the `outcome` label: `200`, `3xx` (the
    site's redirect for data it does not have, or another), `429`, `4xx`, `5xx`, or without an
    answer `timeout` or `network_error`."""
    if status is None:
        return "timeout" if error_type == "timeout_error" else "network_error"
    if status == 429:
        return "429"
    if status == 200:
        return "200"
    return f"{status // 100}xx"
