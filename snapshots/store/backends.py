"""Where the store's bytes live: a filesystem (temp file, fsync, rename; an `fcntl` lock per
date), an S3 bucket (one put or get per object; a Redis lock per date) or any other Django
storage (plain saves; a Redis lock). `_files()` picks the backend of the `snapshots` storage."""

from __future__ import annotations

import errno
import fcntl
import functools
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from backfill_project.redis_locks import LockNotAcquired, renewed_lock
from snapshots.store.errors import SnapshotStoreError, StoreUnwritable

log = logging.getLogger(__name__)


STORAGE_ALIAS = "snapshots"
LOCK_FILE = ".lock"
TEMP_SUFFIX = ".tmp"
LOCK_TIMEOUT_SECONDS = 30.0
# Temporary files of writers on other hosts cannot be checked for a live process; after this
# long no write can still be in progress.
STALE_TEMP_SECONDS = 3600
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
# OS errors that say the store as a whole cannot take writes, whatever the file.
_UNWRITABLE_ERRNOS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "quota",
    errno.EROFS: "read_only",
    errno.EACCES: "denied",
    errno.EPERM: "denied",
}
# S3 (and S3-compatible) error codes that say the same of a bucket.
_UNWRITABLE_S3_CODES = {
    "AccessDenied": "denied",
    "AllAccessDisabled": "denied",
    "AccountProblem": "denied",
    "InvalidAccessKeyId": "denied",
    "NoSuchBucket": "denied",
    "XMinioStorageFull": "full",
}


def _write_error(message: str, exc: OSError) -> SnapshotStoreError:
    """The store's error for an OS error while writing: `StoreUnwritable` when it says the
    store cannot take writes at all (disk full, quota, read-only, permission)."""
    reason = _UNWRITABLE_ERRNOS.get(exc.errno)
    if reason is not None:
        return StoreUnwritable(f"{message}: {exc}", reason=reason)
    return SnapshotStoreError(f"{message}: {exc}")


class _FileSystemFiles:
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
            f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
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
            raise _write_error(f"could not write {name}", exc) from exc
        self._fsync_dir(path.parent)

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
            raise _write_error(f"could not delete {name}", exc) from exc

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
            raise _write_error(f"could not open the lock of {logical_date}", exc) from exc
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
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
                    time.sleep(0.005)
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
                raise _write_error(f"could not create {level}", exc) from exc
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
            raise _write_error(f"could not fsync {directory}", exc) from exc


class _StorageFiles:
    """Files on any other Django storage (an object store): plain saves, a Redis lock."""

    cached = False

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def describe(self) -> str:
        return f"{type(self.storage).__module__}.{type(self.storage).__qualname__}"

    def read(self, name: str) -> bytes | None:
        try:
            if not self.storage.exists(name):
                return None
            with self.storage.open(name, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotStoreError(f"could not read {name}: {exc}") from exc

    def read_versioned(self, name: str, known: Any) -> tuple[Any, bytes | None]:
        data = self.read(name)
        if data is None:
            raise FileNotFoundError(name)
        return None, data

    def write(self, name: str, data: bytes) -> None:
        try:
            # A storage that overwrites (S3Storage with `file_overwrite`) keeps the name, and
            # deleting first would let readers find no file at all for a moment; a storage that
            # would save under another name instead needs the old file gone first.
            if self.storage.get_available_name(name) != name:
                self.storage.delete(name)
            saved = self.storage.save(name, ContentFile(data))
        except OSError as exc:
            raise _write_error(f"could not write {name}", exc) from exc
        if saved != name:
            raise SnapshotStoreError(f"the storage saved {name} as {saved}")

    def delete(self, name: str) -> None:
        try:
            self.storage.delete(name)
        except OSError as exc:
            raise SnapshotStoreError(f"could not delete {name}: {exc}") from exc

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        try:
            directories, files = self.storage.listdir(name)
        except FileNotFoundError:
            return [], []
        return list(directories), list(files)

    @contextmanager
    def lock(self, logical_date: date) -> Iterator[None]:
        # Writers of an object store may run on several hosts, so the lock lives in Redis. Its
        # lease is short and renewed while the holder lives, so the lock of a holder that was
        # killed frees itself within one lease, not after the longest a holder could take.
        lease = settings.SNAPSHOT_LOCK_LEASE_SECONDS
        # Named after the store as well: two stores sharing a Redis never wait for each other.
        key = f"snapshots:lock:{self.describe()}:{logical_date.isoformat()}"
        entered = False
        try:
            with renewed_lock(
                _redis_client(settings.REDIS_URL), key, lease=lease, wait=LOCK_TIMEOUT_SECONDS
            ):
                entered = True
                yield
        except LockNotAcquired as exc:
            raise SnapshotStoreError(
                f"the snapshot of {logical_date} stayed locked for {LOCK_TIMEOUT_SECONDS:.0f} s"
            ) from exc
        except redis.RedisError as exc:
            if entered:  # raised by the caller's body, not by the lock
                raise
            raise SnapshotStoreError(f"could not lock {logical_date}: {exc}") from exc

    def dead_temp_files(self, name: str) -> list[str]:
        return []  # plain saves leave no temporary files

    def all_dead_temp_files(self) -> list[str]:
        return []

    def all_temp_files(self) -> list[str]:
        return []

    def writable(self) -> bool:
        probe = f".probe-{secrets.token_hex(6)}"
        try:
            self.write(probe, b"probe")
            self.delete(probe)
        except (OSError, SnapshotStoreError):
            return False
        return True

    def free_space(self) -> int | None:
        return None  # object stores have no meaningful free space


class _S3Files(_StorageFiles):
    """Objects in an S3 bucket (django-storages' S3Storage), through the S3 API itself.

    The Storage API is not enough here: `exists` + `open` are two requests that race a writer,
    `open` downloads a large object in ranged parts, and botocore's errors are no OSError. One
    GetObject returns one whole version of an object, one PutObject replaces it atomically (S3
    is strongly consistent for reads and listings after writes), and neither leaves a temporary
    object behind. District files are cached by ETag: a re-read of an unchanged file is a 304.
    """

    cached = True

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.bucket = storage.bucket_name
        self.prefix = (storage.location or "").strip("/")
        self.client = _s3_client(storage)

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}"
        endpoint = self.storage.endpoint_url
        return f"{where} at {endpoint}" if endpoint else where

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def cache_key(self, name: str) -> str:
        return f"{self.describe()}:{name}"

    def read(self, name: str) -> bytes | None:
        try:
            return self.read_versioned(name, None)[1]
        except FileNotFoundError:
            return None

    def read_versioned(self, name: str, known: Any) -> tuple[Any, bytes | None]:
        """(ETag, bytes) of an object; bytes is None when its ETag is still `known`.

        Raises FileNotFoundError for a missing key (not for a missing bucket).
        """
        conditions = {"IfNoneMatch": known} if known else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(name), **conditions)
            return response["ETag"], response["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("304", "NotModified"):
                return known, None
            if code == "NoSuchKey":
                raise FileNotFoundError(name) from None
            raise SnapshotStoreError(f"could not read {self.key(name)}: {exc}") from exc
        except BotoCoreError as exc:
            raise SnapshotStoreError(f"could not read {self.key(name)}: {exc}") from exc

    def write(self, name: str, data: bytes) -> None:
        if len(data) > S3_MAX_PUT_BYTES:
            raise SnapshotStoreError(f"{name} is larger than one S3 put ({len(data)} bytes)")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(name),
                Body=data,
                ContentType=_content_type(name),
            )
        except ClientError as exc:
            reason = _UNWRITABLE_S3_CODES.get(exc.response.get("Error", {}).get("Code", ""))
            if reason is not None:
                raise StoreUnwritable(
                    f"could not write {self.key(name)}: {exc}", reason=reason
                ) from exc
            raise SnapshotStoreError(f"could not write {self.key(name)}: {exc}") from exc
        except BotoCoreError as exc:
            raise SnapshotStoreError(f"could not write {self.key(name)}: {exc}") from exc

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
        except (BotoCoreError, ClientError) as exc:
            raise SnapshotStoreError(f"could not delete {self.key(name)}: {exc}") from exc

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        # "Directories" are the common prefixes of a delimited listing; an empty one has none.
        prefix = self.key(name) if name else self.prefix
        prefix = f"{prefix}/" if prefix else ""
        directories, files = [], []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            directories += [
                entry["Prefix"][len(prefix) :].rstrip("/")
                for entry in page.get("CommonPrefixes", ())
            ]
            files += [
                entry["Key"][len(prefix) :]
                for entry in page.get("Contents", ())
                if entry["Key"] != prefix
            ]
        return directories, files

    def dead_temp_files(self, name: str) -> list[str]:
        return []  # nothing this store writes leaves a temporary object

    def all_temp_files(self) -> list[str]:
        """Every object named like a temporary file (`.tmp`), e.g. copied from a filesystem
        store; one listing of the whole store."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        return sorted(
            entry["Key"][len(prefix) :]
            for page in self._pages(Prefix=prefix)
            for entry in page.get("Contents", ())
            if entry["Key"].endswith(TEMP_SUFFIX)
        )

    def all_dead_temp_files(self) -> list[str]:
        # No writer of a bucket makes temporary objects, so none of them can be in use.
        return self.all_temp_files()

    def _pages(self, **arguments: str) -> Iterator[dict[str, Any]]:
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            yield from paginator.paginate(Bucket=self.bucket, **arguments)
        except (BotoCoreError, ClientError) as exc:
            raise SnapshotStoreError(f"could not list s3://{self.bucket}: {exc}") from exc


# One PutObject holds at most 5 GiB; the largest file of the store is a few MB.
S3_MAX_PUT_BYTES = 5 * 1024**3
_CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv"}
_s3_local = threading.local()


def _content_type(name: str) -> str:
    return _CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")


def _s3_client(storage: Storage) -> Any:
    """A boto3 client with the storage's endpoint, region, credentials and client config.

    Kept per process and thread: S3Storage caches its connection in a thread-local, which a
    forked Celery pool process would inherit from its parent together with its open sockets.
    """
    if getattr(_s3_local, "pid", None) != os.getpid():
        _s3_local.pid, _s3_local.clients = os.getpid(), weakref.WeakKeyDictionary()
    client = _s3_local.clients.get(storage)
    if client is None:
        import boto3  # only where the store is a bucket: it takes a fifth of a second

        if storage.session_profile:
            session = boto3.session.Session(profile_name=storage.session_profile)
        else:
            # None falls back to boto3's chain: AWS_* variables, config files, instance roles.
            session = boto3.session.Session(
                aws_access_key_id=storage.access_key,
                aws_secret_access_key=storage.secret_key,
                aws_session_token=storage.security_token,
            )
        client = session.client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            config=storage.client_config,
            verify=storage.verify,
        )
        _s3_local.clients[storage] = client
    return client


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    # One pool per process (redis-py makes a new one after a fork), not one per lock.
    return redis.Redis.from_url(url)


def _files() -> _FileSystemFiles | _StorageFiles:
    # Looked up on every call: Django resets `storages` when STORAGES changes (tests do that).
    storage = storages[STORAGE_ALIAS]
    if isinstance(storage, FileSystemStorage):
        return _FileSystemFiles(storage)
    from storages.backends.s3 import S3Storage

    if isinstance(storage, S3Storage):
        return _S3Files(storage)
    return _StorageFiles(storage)


def _remove_quietly(files: _FileSystemFiles | _StorageFiles, name: str) -> None:
    try:
        files.delete(name)
    except SnapshotStoreError as exc:
        log.warning("could not remove the leftover temporary file %s: %s", name, exc)


def _mkstemp(directory: Path) -> tuple[int, str]:
    path = directory / f".probe.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(path)


def _temp_writer_gone(file: str, path: Path, now: float) -> bool:
    parts = file[: -len(TEMP_SUFFIX)].rsplit(".", 3)
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return False  # renamed or removed meanwhile
    if age > STALE_TEMP_SECONDS:
        return True
    if len(parts) != 4 or parts[1] != _HOST or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False
