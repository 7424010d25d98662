"""Heartbeats in the shared Redis, under a private key prefix."""

import time
from types import SimpleNamespace

import pytest

from backfill_project import heartbeat


@pytest.fixture
def prefix(settings, private_prefix):
    heartbeat.clear()
    return private_prefix


def test_nothing_seen_reads_as_no_worker_and_no_beat(prefix):
    beats = heartbeat.read()
    assert beats.live_workers() == [] and beats.worker_silence() is None
    assert not beats.beat_alive()


def test_a_worker_is_alive_until_it_stops_or_its_heartbeat_ages(prefix, settings):
    heartbeat.beat_worker("celery@a")
    heartbeat.beat_worker("celery@b")
    assert sorted(w.name for w in heartbeat.read().live_workers()) == ["celery@a", "celery@b"]
    assert heartbeat.read().worker_silence() == 0.0
    heartbeat.beat_worker("celery@a", stopped=True)
    assert [w.name for w in heartbeat.read().live_workers()] == ["celery@b"]
    settings.HEALTH_WORKER_STALE_SECONDS = -1
    beats = heartbeat.read()
    assert beats.live_workers() == [] and beats.worker_silence() >= 0


def test_beat_is_alive_while_it_sends_tasks(prefix):
    heartbeat.beat_beat()
    assert heartbeat.read().beat_alive()


def test_a_ready_worker_beats_from_a_thread_and_says_when_it_stops(prefix, settings):
    """The handlers Celery calls on worker_ready and worker_shutdown, called as it would."""
    settings.HEARTBEAT_INTERVAL_SECONDS = 0.05
    worker = SimpleNamespace(hostname="celery@signals")
    heartbeat._start_worker_heartbeat(sender=worker)
    deadline = time.monotonic() + 5
    while not heartbeat.read().live_workers() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [w.name for w in heartbeat.read().live_workers()] == ["celery@signals"]
    heartbeat._stop_worker_heartbeat(sender=worker)
    time.sleep(0.2)  # the writer has ended: nothing marks the worker alive again
    [entry] = heartbeat.read().workers
    assert entry.stopped and heartbeat.read().live_workers() == []
