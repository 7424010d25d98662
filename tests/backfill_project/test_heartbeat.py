"""Heartbeats in the shared Redis, under a private key prefix."""

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
