"""A Redis lock that lives only as long as its holder: a short lease renewed by a background
thread while the body runs, so the lock of a process killed mid-way frees itself within one
lease instead of after the longest time a holder could take."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

log = logging.getLogger(__name__)


class LockNotAcquired(redis.exceptions.LockError):
    """The lock stayed held by someone else for longer than the caller would wait."""


@contextmanager
def renewed_lock(client: redis.Redis, key: str, *, lease: float, wait: float) -> Iterator[None]:
    """Hold `key` while the body runs. Waits at most `wait` seconds for it (LockNotAcquired
    after that); raises redis.RedisError when Redis cannot be reached. Renewal failures are
    logged: the lock then ends with its lease, and another process may take it."""
    # Not thread-local: the renewing thread must see the token.
    lock = client.lock(key, timeout=lease, thread_local=False)
    if not lock.acquire(blocking_timeout=wait):
        raise LockNotAcquired(f"{key} stayed locked for {wait:.0f} s")
    released = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(lock, lease, released, key), name=f"lock-{key}", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        released.set()
        renewer.join()
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("the lock %s expired before release", key)
        except redis.RedisError as exc:
            log.warning("could not release the lock %s: %s", key, exc)


def _renew(lock: redis.lock.Lock, lease: float, released: threading.Event, key: str) -> None:
    while not released.wait(lease / 3):
        try:
            lock.reacquire()
        except redis.RedisError as exc:
            log.error("the lock %s could not be renewed: %s", key, exc)
            return
