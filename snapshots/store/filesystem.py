"""The store on a filesystem (a FileSystemStorage): every file written to a temporary name,
fsynced, renamed over the target and the directory fsynced; an `fcntl` lock per date.

Inside `deferred_directory_syncs` the directory of a write is fsynced once, on leaving, rather
than after each rename: a batch of units writing many files of a date pays one directory fsync
(and one journal commit) for them, not one each, and its caller records their ends only after
leaving, so nothing is recorded as stored before its rename is durable (RELIABILITY.md 4.2:
fsync the parent, then the database commit). The file itself is still fsynced before its rename,
so a crash at any time leaves the old file or the new one, whole.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage

from snapshots.store.errors import SnapshotStoreError, StoreUnwritable, write_error
from snapshots.store.layout import (
    HOST,
    LOCK_FILE,
    LOCK_TIMEOUT_SECONDS,
    STALE_TEMP_SECONDS,
    TEMP_SUFFIX,
)

# The pauses between tries of a date's lock, doubling from the first to the last: a waiter
# wakes soon after a district's write (well under a millisecond), without spinning through a
# manifest's rebuild (tens of milliseconds).
LOCK_FIRST_PAUSE_SECONDS = 0.0001
LOCK_LAST_PAUSE_SECONDS = 0.005

# The directories written in since `deferred_directory_syncs` was entered (None: outside it).
_deferred_syncs: ContextVar[set[Path] | None] = ContextVar("deferred_syncs", default=None)


@contextmanager
def deferred_directory_syncs() -> Iterator[None]:
    """Fsync each directory written in inside, once, on leaving (the module's docstring);
    raises SnapshotStoreError, naming the directory, when one of them cannot be synced: its
    files' renames may not outlast a crash, so whatever was written inside is to be written
    anew (an fsync that failed is never retried, RELIABILITY.md 4.1)."""
    written: set[Path] = set()
    token = _deferred_syncs.set(written)
    try:
        yield
    finally:
        _deferred_syncs.reset(token)
        for directory in sorted(written):
            FileSystemFiles._fsync_dir(directory)


class FileSystemFiles:
    """Files under a FileSystemStorage, written with the temp-fsync-rename-fsync protocol."""

    cached = True

    def __init__(self, storage: FileSystemStorage) -> None:
        self.storage = storage
        self.root = Path(storage.location)

    def describe(self) -> str:
        return str(self.root)

    def path(self, name: str) -> Path:
        return Path(self.storage.path(name))

    def cache_key(self, name: str) -> str:
        return str(self.path(name))

    def read(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotStoreError(f"could not read {name}: {exc}") from exc

    def read_versioned(self, name: str, known: Any) -> tuple[Any, bytes | None]:
        """(version, bytes) of a file; bytes is None when the version equals `known`.

        The version is taken from the open file, so it always describes the bytes returned:
        files are only ever replaced by rename, never changed in place, so an inode with the
        same number, size and mtime holds the same bytes. Raises FileNotFoundError.
        """
        try:
            with open(self.path(name), "rb") as handle:
                stat = os.fstat(handle.fileno())
                version = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
                if version == known:
                    return version, None
                return version, handle.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise SnapshotStoreError(f"could not read {name}: {exc}") from exc

    def write(self, name: str, data: bytes) -> None:
        path = self.path(name)
        self._keep_free_space(name, len(data))
        self._ensure_dir(path.parent)
        temp = path.parent / (
            f".{path.name}.{HOST}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        )
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except OSError as exc:
            # No second fsync: after a failed write-back Linux may drop the dirty pages and
            # report success next time (RELIABILITY.md 4.1). The caller writes anew.
            temp.unlink(missing_ok=True)
            raise write_error(f"could not write {name}", exc) from exc
        deferred = _deferred_syncs.get()
        if deferred is None:
            self._fsync_dir(path.parent)
        else:
            deferred.add(path.parent)

    def _keep_free_space(self, name: str, size: int) -> None:
        """Refuse a write that would leave less than SNAPSHOT_MIN_FREE_BYTES free: a store
        that fills its disk to the last byte also starves whatever shares it (one statvfs)."""
        minimum = settings.SNAPSHOT_MIN_FREE_BYTES
        if minimum <= 0:
            return
        free = self.free_space()
        if free is not None and free - size < minimum:
            raise StoreUnwritable(
                f"could not write {name}: {free} bytes free, and the store keeps "
                f"{minimum} bytes free (SNAPSHOT_MIN_FREE_BYTES)",
                reason="low_space",
            )

    def delete(self, name: str) -> None:
        try:
            self.path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise write_error(f"could not delete {name}", exc) from exc

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        directories, files = [], []
        try:
            with os.scandir(self.path(name) if name else self.root) as entries:
                for entry in entries:
                    (directories if entry.is_dir() else files).append(entry.name)
        except FileNotFoundError:
            pass
        return directories, files

    @contextmanager
    def lock(self, logical_date: date) -> Iterator[None]:
        # An flock on a file in the date's directory: released by the kernel when its holder
        # dies, so a SIGKILLed writer never leaves a stale lock and there is no lease to guess;
        # it serializes processes and threads (each open is its own lock owner) on this host,
        # which is every process that can see this filesystem storage.
        directory = self.path(logical_date.isoformat())
        self._ensure_dir(directory)
        try:
            fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise write_error(f"could not open the lock of {logical_date}", exc) from exc
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
            pause = LOCK_FIRST_PAUSE_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SnapshotStoreError(
                            f"the snapshot of {logical_date} stayed locked for "
                            f"{LOCK_TIMEOUT_SECONDS:.0f} s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, LOCK_LAST_PAUSE_SECONDS)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def dead_temp_files(self, name: str) -> list[str]:
        """Temporary files in a directory whose writer is gone (names relative to the root)."""
        _, files = self.listdir(name)
        dead = []
        now = time.time()
        for file in files:
            if not file.endswith(TEMP_SUFFIX):
                continue
            full = f"{name}/{file}" if name else file
            if _temp_writer_gone(file, self.path(full), now):
                dead.append(full)
        return dead

    def all_temp_files(self) -> list[str]:
        """Every temporary file (any name ending in `.tmp`) under the root."""
        found = []
        for directory, _, names in os.walk(self.root):
            relative = os.path.relpath(directory, self.root)
            found += [
                name if relative == "." else f"{relative}/{name}"
                for name in names
                if name.endswith(TEMP_SUFFIX)
            ]
        return sorted(found)

    def all_dead_temp_files(self) -> list[str]:
        dead = []
        for directory, _, _ in os.walk(self.root):
            relative = os.path.relpath(directory, self.root)
            dead.extend(self.dead_temp_files("" if relative == "." else relative))
        return dead

    def writable(self) -> bool:
        try:
            self._ensure_dir(self.root)
            fd, probe = _mkstemp(self.root)
            try:
                # A byte, not an empty file: a full filesystem still creates empty files.
                os.write(fd, b"\0")
            finally:
                os.close(fd)
                os.unlink(probe)
        except (OSError, SnapshotStoreError):
            return False
        return True

    def free_space(self) -> int | None:
        try:
            return shutil.disk_usage(self.root).free
        except OSError:
            return None

    def _ensure_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        missing = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for level in reversed(missing):
            try:
                level.mkdir()
            except FileExistsError:
                pass
            except OSError as exc:
                raise write_error(f"could not create {level}", exc) from exc
            # A new directory entry is durable only once its parent is fsynced.
            self._fsync_dir(level.parent)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise write_error(f"could not fsync {directory}", exc) from exc


def _mkstemp(directory: Path) -> tuple[int, str]:
    path = directory / f".probe.{HOST}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(path)


def _temp_writer_gone(file: str, path: Path, now: float) -> bool:
    parts = file[: -len(TEMP_SUFFIX)].rsplit(".", 3)
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return False  # renamed or removed meanwhile
    if age > STALE_TEMP_SECONDS:
        return True
    if len(parts) != 4 or parts[1] != HOST or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False
