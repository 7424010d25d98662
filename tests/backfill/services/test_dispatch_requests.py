"""Dispatch requests (backfill/services/dispatch.py, "Requests, not a queue of waiters"): a unit's
end never waits for the dispatch lock; the holder of the lock serves the requests that came
while it held it; under concurrent ends no dispatch is lost and no unit is sent twice.

Real PostgreSQL (committed transactions, one connection per thread) and Redis; the broker is
replaced by a recorder of the units sent.
"""

from __future__ import annotations

import queue
import threading
import time

import pytest
import redis
from django.db import connection, transaction

from backfill.limits import get_redis
from backfill.models import JobStatus, RateLimitConfig, UnitStatus
from backfill.services import broker, dispatch, units
from tests.factories import running_store_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent_units(monkeypatch, settings) -> queue.Queue:
    """(unit id, lease token) of every unit message sent, in order, from any thread. The jobs
    here are store-bound, whose slots hold batches: batches of one unit, so that a message is a
    unit (batches of several: test_batches.py)."""
    settings.BACKFILL_STORE_BATCH_UNITS = 1
    messages: queue.Queue = queue.Queue()

    def send_units(ids, token, countdown=None):
        for unit_id in ids:
            messages.put((unit_id, token))

    monkeypatch.setattr(broker, "send_units", send_units)
    monkeypatch.setattr(broker, "send_batch", send_units)
    monkeypatch.setattr(broker, "send", lambda task, *args, countdown=None: None)
    RateLimitConfig.load()
    return messages


def analytics_job(n_units: int, concurrency: int):
    return running_store_job(n_units, concurrency=concurrency, per_date=10)


def drained(messages: queue.Queue) -> list[tuple[int, str]]:
    out = []
    while not messages.empty():
        out.append(messages.get_nowait())
    return out


def test_concurrent_unit_ends_lose_no_dispatch_and_send_no_unit_twice(sent_units):
    job = analytics_job(60, concurrency=4)
    assert dispatch.dispatch_units() == 4
    ended: list[int] = []
    most_in_flight = [0]
    lock = threading.Lock()

    def worker() -> None:
        try:
            idle_since = time.monotonic()
            while True:
                try:
                    unit_id, token = sent_units.get(timeout=0.2)
                except queue.Empty:
                    finished = job.units.exclude(status=UnitStatus.SUCCEEDED).count() == 0
                    if finished or time.monotonic() - idle_since > 10:
                        return  # done, or nothing sent for 10 s: a dispatch was lost
                    continue
                idle_since = time.monotonic()
                in_flight = job.units.filter(status=UnitStatus.RUNNING).count()
                assert units.finish_unit(unit_id=unit_id, status=UnitStatus.SUCCEEDED, token=token)
                with lock:
                    ended.append(unit_id)
                    most_in_flight[0] = max(most_in_flight[0], in_flight)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == 60
    assert sorted(ended) == sorted(job.units.values_list("id", flat=True))  # each exactly once
    assert most_in_flight[0] <= 4
    # Every request served, none counted twice (a negative count would swallow later ones).
    assert int(get_redis().get(dispatch._requests_key()) or 0) == 0


def test_a_unit_end_does_not_wait_for_the_lock_and_its_holder_serves_it(sent_units):
    job = analytics_job(2, concurrency=1)
    dispatch.dispatch_units()
    [(first, token)] = drained(sent_units)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                dispatch.hold_dispatch_lock()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    began = time.monotonic()
    assert units.finish_unit(unit_id=first, status=UnitStatus.SUCCEEDED, token=token)
    assert time.monotonic() - began < 3  # the holder keeps the lock for up to 10 s
    assert drained(sent_units) == []  # asked for, not yet served
    release.set()
    thread.join()
    # The holder drained the request once it let go: the second unit is on its way.
    [(second, _)] = drained(sent_units)
    assert second != first
    assert job.units.get(pk=second).status == UnitStatus.RUNNING


def test_without_redis_a_unit_end_waits_for_the_lock_and_dispatches(sent_units, monkeypatch):
    job = analytics_job(2, concurrency=1)
    dispatch.dispatch_units()
    [(first, token)] = drained(sent_units)
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(dispatch, "get_redis", lambda: unreachable)
    assert units.finish_unit(unit_id=first, status=UnitStatus.SUCCEEDED, token=token)
    [(second, _)] = drained(sent_units)
    assert job.units.get(pk=second).status == UnitStatus.RUNNING
