"""Worker and beat heartbeats: who is alive, read by the health checks, the alerts and the admin.

Here, below every app, because the processes that write them (a Celery worker, beat) load this
project's Celery app and nothing else, and because the admin of `backfill` shows them ("no
worker for 3 min" is why a job does not run) while it may not import `alerts`.

Each worker's main process writes its hostname and the time into one Redis hash every
HEARTBEAT_INTERVAL_SECONDS from a thread started when it is ready, and marks itself stopped on a
warm shutdown; a killed worker simply stops writing. Beat writes its own key every time it sends
a task (its 10 s lost-unit reclaim keeps that at least that fresh). Entries live a day, so "the
last worker was seen 3 min ago" still reads after they went stale. The times are Redis's clock,
so hosts with skewed clocks agree.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass

import redis
from celery.signals import after_task_publish, beat_init, worker_ready, worker_shutdown
from django.conf import settings

log = logging.getLogger(__name__)

# Kept this long after the last beat, so the admin can say since when nobody answered.
RETENTION_SECONDS = 24 * 3600
_clients: dict[str, redis.Redis] = {}
_stop_writing = threading.Event()
_writers: list[threading.Thread] = []


@dataclass(frozen=True)
class Heartbeat:
    """One process's last sign of life: `age` seconds ago (by Redis's clock)."""

    name: str
    age: float
    stopped: bool

    def alive(self, stale_after: float) -> bool:
        return not self.stopped and self.age <= stale_after


@dataclass(frozen=True)
class Heartbeats:
    """Every worker's heartbeat (newest first) and beat's (None: never seen in a day)."""

    workers: list[Heartbeat]
    beat: Heartbeat | None

    def live_workers(self) -> list[Heartbeat]:
        return [w for w in self.workers if w.alive(settings.HEALTH_WORKER_STALE_SECONDS)]

    def beat_alive(self) -> bool:
        return self.beat is not None and self.beat.alive(settings.HEALTH_BEAT_STALE_SECONDS)

    def worker_silence(self) -> float | None:
        """Seconds since the last worker answered: 0 when one is alive now, None when none
        answered within a day."""
        if self.live_workers():
            return 0.0
        return min((w.age for w in self.workers), default=None)


def describe_age(seconds: float) -> str:
    """ "45 s", "3 min", "2 h 5 min"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def client() -> redis.Redis:
    """A client with short timeouts: a dead Redis makes a heartbeat or a health check fail in
    about a second, never hang."""
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def _workers_key() -> str:
    return f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:heartbeat:workers"


def _beat_key() -> str:
    return f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:heartbeat:beat"


def _now(connection: redis.Redis) -> float:
    seconds, micros = connection.time()
    return seconds + micros / 1_000_000


def beat_worker(hostname: str, *, stopped: bool = False) -> None:
    """Record that worker `hostname` is alive (or has stopped); raises redis.RedisError."""
    connection = client()
    now = _now(connection)
    entry = json.dumps({"at": now, "pid": os.getpid(), "stopped": stopped})
    pipe = connection.pipeline()
    pipe.hset(_workers_key(), hostname, entry)
    pipe.expire(_workers_key(), RETENTION_SECONDS)
    pipe.execute()
    _forget_old_workers(connection, now)


def _forget_old_workers(connection: redis.Redis, now: float) -> None:
    for hostname, raw in connection.hgetall(_workers_key()).items():
        if now - json.loads(raw)["at"] > RETENTION_SECONDS:
            connection.hdel(_workers_key(), hostname)


def beat_beat() -> None:
    """Record that beat is alive; raises redis.RedisError."""
    connection = client()
    connection.set(_beat_key(), json.dumps({"at": _now(connection)}), ex=RETENTION_SECONDS)


def read() -> Heartbeats:
    """Every heartbeat, ages by Redis's clock; raises redis.RedisError."""
    connection = client()
    now = _now(connection)
    workers = [
        _heartbeat(name.decode(), json.loads(raw), now)
        for name, raw in connection.hgetall(_workers_key()).items()
    ]
    raw_beat = connection.get(_beat_key())
    beat = _heartbeat("beat", json.loads(raw_beat), now) if raw_beat else None
    return Heartbeats(workers=sorted(workers, key=lambda w: w.age), beat=beat)


def _heartbeat(name: str, entry: dict, now: float) -> Heartbeat:
    return Heartbeat(
        name=name, age=max(0.0, now - entry["at"]), stopped=entry.get("stopped", False)
    )


def clear() -> None:
    """Forget every heartbeat (tests)."""
    client().delete(_workers_key(), _beat_key())


# --- the writers, wired to Celery's signals (this module is imported by backfill_project.celery)


@worker_ready.connect
def _start_worker_heartbeat(sender=None, **kwargs) -> None:
    hostname = sender.hostname
    _stop_writing.clear()
    thread = threading.Thread(
        target=_write_worker_heartbeats, args=(hostname,), name="heartbeat", daemon=True
    )
    thread.start()
    _writers.append(thread)


def _write_worker_heartbeats(hostname: str) -> None:
    while True:
        try:
            beat_worker(hostname)
        except redis.RedisError as exc:
            log.warning("worker heartbeat not written: %s", exc)
        if _stop_writing.wait(settings.HEARTBEAT_INTERVAL_SECONDS):
            return


@worker_shutdown.connect
def _stop_worker_heartbeat(sender=None, **kwargs) -> None:
    """A warm shutdown says so at once: the health check need not wait for the entry to age."""
    _stop_writing.set()
    while _writers:  # a write in flight must not land after "stopped"
        _writers.pop().join(timeout=5)
    try:
        beat_worker(sender.hostname, stopped=True)
    except redis.RedisError as exc:
        log.warning("worker heartbeat not marked stopped: %s", exc)


@beat_init.connect
def _start_beat_heartbeat(**kwargs) -> None:
    """Only beat connects the publish hook: in a worker or the web process a sent task says
    nothing about beat."""
    after_task_publish.connect(_beat_sent_task, weak=False)
    _beat_sent_task()


def _beat_sent_task(**kwargs) -> None:
    try:
        beat_beat()
    except redis.RedisError as exc:
        log.warning("beat heartbeat not written: %s", exc)
