"""Whether the store can take writes at all.

A store that is full, nearly full (below SNAPSHOT_MIN_FREE_BYTES), over a quota, read-only or
refusing writes is a condition of the whole store, not an error of the file being written: it
is remembered in Redis (every process and host sees it) with when it began, the free space and
the error, and cleared once a probe write succeeds with room to spare.

Writers that get `StoreUnwritable` record it (`record_unwritable`); the periodic check
(`check_store`: beat's 10 s reclaim, every worker start) notices a disk running low before a
write fails, and clears the condition once the store takes writes again. While it holds, the
engine dispatches no unit and puts back the units that hit it. A condition that nobody records
or re-checks for CONDITION_TTL_SECONDS lapses, so a stale one never holds the engine for good.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings

from snapshots.store.backends import remove_quietly, store_files
from snapshots.store.errors import UNWRITABLE_REASONS, SnapshotStoreError, StoreUnwritable
from snapshots.store.layout import HOST, TEMP_SUFFIX

log = logging.getLogger(__name__)

CONDITION_TTL_SECONDS = 300
# The probe writes real bytes: an empty file can still be created on a full filesystem.
PROBE_BYTES = 4096
# Space must come back by at least this much over what was free when writes failed (and to
# twice SNAPSHOT_MIN_FREE_BYTES) before dispatch resumes: a few freed bytes would only let the
# next unit fail again.
RESUME_MARGIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoreCondition:
    """The store cannot take writes: why (`reason`, one of UNWRITABLE_REASONS), the error that
    said so, since when, when it was last checked, and the free space then (None for a
    bucket)."""

    reason: str
    message: str
    location: str
    since: datetime
    checked_at: datetime
    free_space_bytes: int | None
    min_free_bytes: int
    # For a full disk: the free space at which writes resume (None: a probe write decides).
    resume_at_bytes: int | None = None

    @property
    def sentence(self) -> str:
        """ "The snapshot store /srv/snapshots is full (12,288 bytes free) since 02:13:05 UTC"."""
        state = UNWRITABLE_REASONS.get(self.reason, "cannot take writes")
        free = (
            f" ({self.free_space_bytes:,} bytes free)" if self.free_space_bytes is not None else ""
        )
        return (
            f"The snapshot store {self.location} {state}{free} since "
            f"{self.since:%Y-%m-%d %H:%M:%S} UTC"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.reason,
            "description": self.sentence,
            "message": self.message,
            "location": self.location,
            "since": self.since.isoformat(),
            "checkedAt": self.checked_at.isoformat(),
            "freeSpaceBytes": self.free_space_bytes,
            "minFreeBytes": self.min_free_bytes,
            "resumeAtBytes": self.resume_at_bytes,
        }


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    # Dispatch reads the condition under the dispatch lock: a Redis that does not answer must
    # not hold it (one pool per process; redis-py makes a new one after a fork).
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _key(location: str) -> str:
    return f"snapshots:condition:{location}"


def _decode(raw: bytes) -> StoreCondition:
    data = json.loads(raw)
    return StoreCondition(
        reason=data["reason"],
        message=data["message"],
        location=data["location"],
        since=datetime.fromisoformat(data["since"]),
        checked_at=datetime.fromisoformat(data["checkedAt"]),
        free_space_bytes=data["freeSpaceBytes"],
        min_free_bytes=data["minFreeBytes"],
        resume_at_bytes=data.get("resumeAtBytes"),
    )


def _encode(condition: StoreCondition) -> str:
    return json.dumps(
        {
            "reason": condition.reason,
            "message": condition.message,
            "location": condition.location,
            "since": condition.since.isoformat(),
            "checkedAt": condition.checked_at.isoformat(),
            "freeSpaceBytes": condition.free_space_bytes,
            "minFreeBytes": condition.min_free_bytes,
            "resumeAtBytes": condition.resume_at_bytes,
        }
    )


def store_condition() -> StoreCondition | None:
    """The condition that holds for the configured store, or None when it takes writes (or
    Redis cannot say: then writers find out for themselves). One Redis read."""
    location = store_files().describe()
    try:
        raw = _redis_client(settings.REDIS_URL).get(_key(location))
    except redis.RedisError as exc:
        log.debug("store condition of %s not read: %s", location, exc)
        return None
    return _decode(raw) if raw else None


def record_unwritable(error: StoreUnwritable) -> StoreCondition | None:
    """Remember that the store cannot take writes, as `error` showed (keeping when it began if
    it holds already). The process that starts the condition logs one WARNING; later records
    only refresh it. Returns the condition, or None when Redis is unreachable (nothing is
    remembered: the caller treats the error as any other store error)."""
    files = store_files()
    location = files.describe()
    now = datetime.now(UTC)
    free = files.free_space()
    minimum = settings.SNAPSHOT_MIN_FREE_BYTES
    condition = StoreCondition(
        reason=error.reason,
        message=str(error)[:500],
        location=location,
        since=now,
        checked_at=now,
        free_space_bytes=free,
        min_free_bytes=minimum,
        resume_at_bytes=_resume_at(error.reason, free, minimum),
    )
    key = _key(location)
    try:
        client = _redis_client(settings.REDIS_URL)
        if client.set(key, _encode(condition), nx=True, ex=CONDITION_TTL_SECONDS):
            log.warning(
                "%s: no unit is dispatched until it takes writes again (%s)",
                condition.sentence,
                condition.message,
            )
            return condition
        raw = client.get(key)
        if raw:
            condition = _refreshed(_decode(raw), condition)
        client.set(key, _encode(condition), ex=CONDITION_TTL_SECONDS)
    except redis.RedisError as exc:
        log.error("the snapshot store's condition could not be recorded: %s", exc)
        return None
    return condition


def _resume_at(reason: str, free: int | None, minimum: int) -> int | None:
    """The free space at which writes resume: twice the minimum for a nearly full disk; for a
    full one also a margin over what was free when writes failed (the minimum may be 0)."""
    if free is None:
        return None
    if reason == "low_space":
        return 2 * minimum
    if reason == "full":
        return max(2 * minimum, free + max(minimum, RESUME_MARGIN_BYTES))
    return None


def _refreshed(held: StoreCondition, seen: StoreCondition) -> StoreCondition:
    return StoreCondition(
        reason=seen.reason,
        message=held.message,  # the error that began it
        location=held.location,
        since=held.since,
        checked_at=seen.checked_at,
        free_space_bytes=seen.free_space_bytes,
        min_free_bytes=seen.min_free_bytes,
        # A full disk's bar is set when writes began to fail, so that it does not creep up.
        resume_at_bytes=(
            held.resume_at_bytes
            if seen.reason == "full" and held.resume_at_bytes is not None
            else seen.resume_at_bytes
        ),
    )


def check_store() -> StoreCondition | None:
    """Re-test the store and return the condition that holds afterwards (None: it takes
    writes). While a condition holds, a probe write and the free space decide whether it ends
    (the end is logged once, with how long it lasted). Otherwise only the free space is read (a
    statvfs; nothing for a bucket), so a disk below SNAPSHOT_MIN_FREE_BYTES is noticed before a
    write fails. Raises nothing."""
    held = store_condition()
    files = store_files()
    free = files.free_space()
    minimum = settings.SNAPSHOT_MIN_FREE_BYTES
    if held is None:
        if free is not None and minimum > 0 and free < minimum:
            return record_unwritable(
                StoreUnwritable(
                    f"{free} bytes free, below the {minimum} bytes the store keeps free "
                    "(SNAPSHOT_MIN_FREE_BYTES)",
                    reason="low_space",
                )
            )
        return None
    wanted = 2 * minimum if held.reason == "low_space" else held.resume_at_bytes
    if free is not None and wanted is not None and free < wanted:
        return record_unwritable(
            StoreUnwritable(f"{free} bytes free; writes resume at {wanted}", reason=held.reason)
        )
    probe = f".probe.{HOST}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        files.write(probe, b"\0" * PROBE_BYTES)
    except StoreUnwritable as exc:
        return record_unwritable(exc)
    except SnapshotStoreError as exc:
        # Another failure (an I/O error, a bucket unreachable): the condition stays as it was.
        log.warning("snapshot store probe failed: %s", exc)
        return held
    remove_quietly(files, probe)
    try:
        _redis_client(settings.REDIS_URL).delete(_key(held.location))
    except redis.RedisError as exc:
        log.warning("the snapshot store's condition could not be cleared: %s", exc)
        return held
    lasted = (datetime.now(UTC) - held.since).total_seconds()
    log.warning(
        "the snapshot store %s takes writes again after %.0f s (%s bytes free): dispatch resumes",
        held.location,
        lasted,
        "?" if free is None else f"{free:,}",
    )
    return None


def clear_condition() -> None:
    """Forget the configured store's condition (tests, an operator who fixed the store and
    does not want to wait for the next check)."""
    try:
        _redis_client(settings.REDIS_URL).delete(_key(store_files().describe()))
    except redis.RedisError as exc:
        log.warning("the snapshot store's condition could not be cleared: %s", exc)
