"""backfill_project/counters.py: counters shared by every process, in Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import redis

from backfill_project import counters
from tests.fixtures.backfill import ROOT


def total(name: str) -> int:
    return sum(counters.totals(name).values())


def test_increments_add_up_per_label():
    before = counters.totals(counters.DASHBOARD_REQUESTS)
    counters.increment(counters.DASHBOARD_REQUESTS, "200")
    counters.increment(counters.DASHBOARD_REQUESTS, "200")
    counters.increment(counters.DASHBOARD_REQUESTS, "429", amount=3)
    after = counters.totals(counters.DASHBOARD_REQUESTS)
    assert after["200"] - before.get("200", 0) == 2
    assert after["429"] - before.get("429", 0) == 3


def test_a_count_made_by_another_process_is_read_here(settings):
    # A new process (a worker, a restarted web server) adds to the same total: nothing is kept
    # in a process.
    before = total(counters.BREAKER_OPENS)
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "BACKFILL_LIMITS_KEY_PREFIX": settings.BACKFILL_LIMITS_KEY_PREFIX,
    }
    code = (
        "from backfill_project import counters; "
        "counters.increment(counters.BREAKER_OPENS, amount=2)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    assert total(counters.BREAKER_OPENS) == before + 2


def test_per_minute_counts_fall_in_their_minute():
    moment = datetime(2026, 12, 6, 7, 5, 30, tzinfo=UTC)
    counters.increment("test_minutes", "200", per_minute=True, now=moment.timestamp())
    counters.increment("test_minutes", "5xx", per_minute=True, now=moment.timestamp())
    counters.increment(
        "test_minutes", "200", per_minute=True, now=(moment + timedelta(minutes=2)).timestamp()
    )
    counts = counters.per_minute(
        "test_minutes", since=moment - timedelta(hours=1), until=moment + timedelta(hours=1)
    )
    assert counts == {
        datetime(2026, 12, 6, 7, 5, tzinfo=UTC): 2,
        datetime(2026, 12, 6, 7, 7, tzinfo=UTC): 1,
    }


def test_counting_never_fails_its_caller_without_redis(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    counters.increment(counters.LEASE_RECLAIMS)  # no exception: the reclaim has happened
    with pytest.raises(redis.RedisError):
        counters.totals(counters.LEASE_RECLAIMS)


@pytest.mark.parametrize(
    ("status", "error_type", "outcome"),
    [
        (200, None, "200"),
        (302, "data_unavailable", "3xx"),
        (404, "fetch_failed", "4xx"),
        (429, "rate_limit_error", "429"),
        (503, "fetch_failed", "5xx"),
        (None, "timeout_error", "timeout"),
        (None, "network_error", "network_error"),
    ],
)
def test_request_outcomes(status, error_type, outcome):
    assert counters.request_outcome(status, error_type) == outcome
