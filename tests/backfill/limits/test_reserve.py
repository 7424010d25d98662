"""The share of the window reserved for priority jobs is work-conserving: lent to normal jobs
while no priority job is queued or in flight, taken back as soon as one is
(`backfill/limits/reserve.py`, `limiter.py`). Real Redis and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.db import OperationalError

from backfill import limits
from backfill.limits import LimitSettings, RateLimiter, reserve
from backfill.limits.connection import connect
from backfill.models import JobPriority, JobStatus
from tests.factories import BackfillJobFactory

pytestmark = pytest.mark.django_db

WINDOW = LimitSettings(max_requests=10, window_ms=1_000, min_delay_ms=0, max_delay_ms=0)


@pytest.fixture
def redis_client() -> redis.Redis:
    return connect(django_settings.REDIS_URL)


@pytest.fixture
def limiter(redis_client) -> Iterator[RateLimiter]:
    prefix = f"test-reserve:{uuid.uuid4().hex}"
    limiter = RateLimiter(
        redis_client, key_prefix=prefix, settings_provider=lambda: WINDOW, reserved_share=0.2
    )
    yield limiter
    limiter.clear()


def grants(limiter: RateLimiter, n: int, *, priority: bool = False) -> list[bool]:
    return [limiter.try_acquire(priority=priority).granted for _ in range(n)]


def test_normal_jobs_use_the_whole_window_while_no_priority_job_exists(limiter):
    BackfillJobFactory(priority=JobPriority.NORMAL, status=JobStatus.RUNNING)
    BackfillJobFactory(priority=JobPriority.DAILY, status=JobStatus.COMPLETED)
    assert limiter.held_back(WINDOW, priority=False) == 0
    assert grants(limiter, 11) == [True] * 10 + [False]
    assert limiter.status().reserved_for_priority == 0


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.CANCELLING])
def test_a_queued_or_running_priority_job_takes_the_reserve_back(limiter, status):
    BackfillJobFactory(priority=JobPriority.URGENT, status=status)
    assert grants(limiter, 9) == [True] * 8 + [False]
    assert grants(limiter, 3, priority=True) == [True, True, False]
    assert limiter.status().reserved_for_priority == 2


def test_a_priority_job_arriving_in_a_full_window_gets_the_first_grant_that_frees(limiter):
    assert grants(limiter, 10) == [True] * 10  # lent: the backfill has the whole window
    BackfillJobFactory(priority=JobPriority.DAILY)
    reserve.clear_presence_cache()  # as if PRESENCE_CACHE_SECONDS had passed
    created = time.monotonic()
    first = limiter.try_acquire(priority=True)
    assert not first.granted and first.wait_ms <= WINDOW.window_ms + 50
    time.sleep(first.wait_ms / 1000 + 0.01)
    # The normal request is held back (the window less the reserve, and the priority hold)...
    assert not limiter.try_acquire().granted
    # ...and the daily job's first request takes the grant, within one window.
    assert limiter.try_acquire(priority=True).granted
    assert time.monotonic() - created < WINDOW.window_ms / 1000 + 0.2


def test_the_reserve_is_lent_again_once_the_priority_job_has_ended(limiter):
    daily = BackfillJobFactory(priority=JobPriority.DAILY, status=JobStatus.RUNNING)
    assert limiter.held_back(WINDOW, priority=False) == 2
    daily.status = JobStatus.COMPLETED
    daily.save(update_fields=["status"])
    # Cached for PRESENCE_CACHE_SECONDS in this process, then lent again.
    assert limiter.held_back(WINDOW, priority=False) == 2
    time.sleep(reserve.PRESENCE_CACHE_SECONDS + 0.05)
    assert limiter.held_back(WINDOW, priority=False) == 0


def test_presence_is_read_once_per_cache_period(django_assert_num_queries):
    with django_assert_num_queries(1):
        for _ in range(50):
            assert reserve.priority_jobs_present() is False


def test_the_reserve_is_kept_when_the_database_cannot_answer(limiter, monkeypatch):
    def unreachable() -> bool:
        raise OperationalError("connection refused")

    monkeypatch.setattr(reserve, "_read_database", unreachable)
    assert reserve.priority_jobs_present() is True
    assert grants(limiter, 9) == [True] * 8 + [False]


def test_performance_status_shows_the_reserve_held_only_while_needed(redis_client, settings):
    settings.BACKFILL_PRIORITY_RESERVED_SHARE = 0.5
    prefix = f"test-reserve:{uuid.uuid4().hex}"
    lent = limits.performance_status(redis_client=redis_client, prefix=prefix)["rateLimiter"]
    BackfillJobFactory(priority=JobPriority.DAILY)
    reserve.clear_presence_cache()
    held = limits.performance_status(redis_client=redis_client, prefix=prefix)["rateLimiter"]
    assert lent["reservedForPriority"] == 0
    assert held["reservedForPriority"] == held["maxRequests"] // 2
