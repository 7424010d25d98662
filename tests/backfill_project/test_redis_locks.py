"""`renewed_lock`: held as long as its holder lives, freed within one lease once it dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid

import pytest
import redis
from django.conf import settings

from backfill_project.redis_locks import LockNotAcquired, renewed_lock


@pytest.fixture
def key():
    name = f"test:redis-locks:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(settings.REDIS_URL).delete(name)


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _hold(key: str, lease: float, entered, release) -> None:
    with renewed_lock(_client(), key, lease=lease, wait=1):
        entered.set()
        release.wait(30)


def _hold_then_die(key: str, lease: float, entered) -> None:
    with renewed_lock(_client(), key, lease=lease, wait=1):
        entered.set()
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_live_holder_keeps_the_lock_past_its_lease(key):
    context = multiprocessing.get_context("fork")
    entered, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(key, 0.6, entered, release))
    holder.start()
    try:
        assert entered.wait(10)
        with pytest.raises(LockNotAcquired), renewed_lock(_client(), key, lease=0.6, wait=2):
            pass  # three leases long: only renewal keeps the other process's lock
    finally:
        release.set()
        holder.join(10)
    with renewed_lock(_client(), key, lease=0.6, wait=2):
        pass  # released on exit


def test_a_killed_holder_blocks_others_for_one_lease_at_most(key):
    context = multiprocessing.get_context("fork")
    entered = context.Event()
    holder = context.Process(target=_hold_then_die, args=(key, 1.0, entered))
    holder.start()
    assert entered.wait(10)
    holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    started = time.monotonic()
    with renewed_lock(_client(), key, lease=1.0, wait=30):
        waited = time.monotonic() - started
    assert waited < 1.5


def test_an_error_in_the_body_is_the_callers_and_the_lock_is_released(key):
    with pytest.raises(RuntimeError), renewed_lock(_client(), key, lease=5, wait=1):
        raise RuntimeError("the caller's")
    assert _client().get(key) is None
