"""The per-district snapshot store: district files, manifests and the raw CSV archive.

Layout under the `snapshots` storage (a FileSystemStorage at SNAPSHOT_ROOT by default):

    <YYYY-MM-DD>/district_<id>.json      one DistrictStatistics per district (to_dict JSON)
    <YYYY-MM-DD>/manifest.json           the snapshot of that logical date (camelCase)
    raw/<as-of>/<report>/district_<id>.csv   the raw CSV as downloaded (`all.csv` for
                                              system-wide reports)
    analytics/...json                         derived documents (backfill/services/analytics.py)

Guarantees:
- Every file is replaced atomically and durably: written to a temporary name in the same
  directory, flushed and fsynced, renamed over the target, then the directory is fsynced
  (RELIABILITY.md section 4). A reader sees the old file or the new one, never a part.
- District files are never deleted, so a manifest never points to a missing file. The manifest
  is rebuilt from the district files on disk, under the date's lock, by `finalize_snapshot`; the
  last complete write of a district wins and every district is listed exactly once.
- Summary data never downgrades stored full-detail data of the same district and date.

On an S3 bucket (django-storages' S3Storage, SNAPSHOT_STORAGE=s3) every object is written with
one PutObject, which replaces it atomically, and read with one GetObject, which returns one whole
version; there are no temporary objects, and the per-date lock lives in Redis so that workers on
several hosts share it. Any other Django storage is written with a plain `Storage.save` under
the same Redis lock.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone

from districts.dashboard.statistics import DETAIL_LEVELS, Detail, DistrictStatistics
from districts.ids import ALL_DISTRICTS, district_sort_key, is_canonical_district_id
from snapshots import performance
from snapshots.models import Snapshot, SnapshotStatus

log = logging.getLogger(__name__)

STORAGE_ALIAS = "snapshots"
MANIFEST_FILE = "manifest.json"
RAW_DIR = "raw"
ANALYTICS_DIR = "analytics"
LOCK_FILE = ".lock"
TEMP_SUFFIX = ".tmp"
SCHEMA_VERSION = 1
LOCK_TIMEOUT_SECONDS = 30.0
# Temporary files of writers on other hosts cannot be checked for a live process; after this
# long no write can still be in progress.
STALE_TEMP_SECONDS = 3600
CACHE_CAPACITY = 256

DATE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DISTRICT_FILE_RE = re.compile(r"^district_([A-Za-z0-9]{1,3})\.json$")
RAW_DISTRICT_FILE_RE = re.compile(r"^district_([A-Za-z0-9]{1,3})\.csv$")
REPORT_RE = re.compile(r"^[a-z]{1,40}$")
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


class SnapshotStoreError(Exception):
    """A snapshot file could not be written or read: bad input, I/O error, corrupt file or a
    lock that could not be obtained in time."""


@dataclass(frozen=True)
class DistrictWrite:
    """The outcome of `write_district`: what the district file holds now."""

    district_id: str
    logical_date: date
    detail: Detail
    kept_existing: bool  # True when summary data left a stored full-detail file in place
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredFile:
    """One district file as found on disk."""

    district_id: str
    file: str
    size: int
    sha256: str
    detail: Detail
    as_of_date: date
    data_month: str
    is_closing_period: bool
    # The district file's conflicting duplicate club rows (DistrictStatistics.duplicate_rows).
    duplicate_rows: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class DateScan:
    """The district files of one date: the readable ones and the names of unreadable ones."""

    files: tuple[StoredFile, ...]
    corrupt: tuple[str, ...]
    # (file name, the district id inside it) for files whose content names another district
    # than their file name: refused, never adopted as the district of their name.
    mismatched: tuple[tuple[str, str], ...] = ()


# --- storage backends -------------------------------------------------------------------------


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
            raise SnapshotStoreError(f"could not write {name}: {exc}") from exc
        self._fsync_dir(path.parent)

    def delete(self, name: str) -> None:
        try:
            self.path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise SnapshotStoreError(f"could not delete {name}: {exc}") from exc

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
            raise SnapshotStoreError(f"could not open the lock of {logical_date}: {exc}") from exc
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
                raise SnapshotStoreError(f"could not create {level}: {exc}") from exc
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
            raise SnapshotStoreError(f"could not fsync {directory}: {exc}") from exc


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
            raise SnapshotStoreError(f"could not write {name}: {exc}") from exc
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
        # Not thread-local: the renewing thread must see the token.
        lock = _redis_client(settings.REDIS_URL).lock(key, timeout=lease, thread_local=False)
        try:
            acquired = lock.acquire(blocking_timeout=LOCK_TIMEOUT_SECONDS)
        except redis.RedisError as exc:
            raise SnapshotStoreError(f"could not lock {logical_date}: {exc}") from exc
        if not acquired:
            raise SnapshotStoreError(
                f"the snapshot of {logical_date} stayed locked for {LOCK_TIMEOUT_SECONDS:.0f} s"
            )
        held = threading.Event()
        renewer = threading.Thread(
            target=_renew_lock,
            args=(lock, lease, held, logical_date),
            name=f"snapshot-lock-{logical_date}",
            daemon=True,
        )
        renewer.start()
        try:
            yield
        finally:
            held.set()
            renewer.join()
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("the lock of snapshot %s expired before release", logical_date)
            except redis.RedisError as exc:
                log.warning("could not release the lock of snapshot %s: %s", logical_date, exc)

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
        except (BotoCoreError, ClientError) as exc:
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


def _renew_lock(lock: Any, lease: float, released: threading.Event, logical_date: date) -> None:
    """Extend a Redis lock's lease every third of it until `released` is set."""
    while not released.wait(lease / 3):
        try:
            lock.reacquire()
        except redis.RedisError as exc:
            log.error("the lock of snapshot %s could not be renewed: %s", logical_date, exc)
            return


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


# --- names ------------------------------------------------------------------------------------


def _checked_district_id(district_id: str) -> str:
    if not is_canonical_district_id(district_id):
        raise SnapshotStoreError(f"invalid district id {district_id!r}: expected a canonical id")
    return district_id


def _district_name(logical_date: date, district_id: str) -> str:
    return f"{logical_date.isoformat()}/district_{_checked_district_id(district_id)}.json"


def _manifest_name(logical_date: date) -> str:
    return f"{logical_date.isoformat()}/{MANIFEST_FILE}"


def _raw_name(as_of: date, report: str, district_id: str | None) -> str:
    report = str(report)
    if not REPORT_RE.match(report):
        raise SnapshotStoreError(f"invalid report name {report!r}")
    file = "all.csv" if district_id is None else f"district_{_checked_district_id(district_id)}.csv"
    return f"{RAW_DIR}/{as_of.isoformat()}/{report}/{file}"


def _rank(detail: str) -> int:
    return DETAIL_LEVELS.index(detail) if detail in DETAIL_LEVELS else -1


def _encode(value: Any, *, indent: int | None = None) -> bytes:
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=None if indent else (",", ":"),
        )
    except ValueError as exc:
        raise SnapshotStoreError(f"not storable as JSON: {exc}") from exc
    return text.encode("utf-8")


# --- the read cache ---------------------------------------------------------------------------

_cache: OrderedDict[str, tuple[Any, DistrictStatistics]] = OrderedDict()
_cache_lock = threading.Lock()


def cache_entries() -> int:
    """How many parsed district files this process holds in its read cache."""
    return len(_cache)


def _read_statistics(files: _FileSystemFiles | _StorageFiles, name: str) -> DistrictStatistics:
    """Parse a district file, through the process's cache when the backend supports it.

    Raises FileNotFoundError when the file does not exist, SnapshotStoreError when it is corrupt.
    """
    if not files.cached:
        data = files.read(name)
        if data is None:
            raise FileNotFoundError(name)
        return _parse_statistics(name, data)
    key = files.cache_key(name)
    with _cache_lock:
        known = _cache.get(key)
    version, data = files.read_versioned(name, known[0] if known else None)
    if data is None and known is not None:
        with _cache_lock:
            _cache.move_to_end(key)
        performance.record_cache(hit=True)
        return known[1]
    statistics = _parse_statistics(name, data)
    with _cache_lock:
        _cache[key] = (version, statistics)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_CAPACITY:
            _cache.popitem(last=False)
    performance.record_cache(hit=False)
    return statistics


def _parse_statistics(name: str, data: bytes) -> DistrictStatistics:
    try:
        return DistrictStatistics.from_dict(json.loads(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise SnapshotStoreError(f"{name} is not a readable district file: {exc}") from exc


# --- district files ---------------------------------------------------------------------------


def write_district(*, logical_date: date, statistics: DistrictStatistics) -> DistrictWrite:
    """Store one district's statistics for a logical date, atomically and durably.

    Full-detail statistics replace what is stored; summary statistics over a stored full-detail
    file leave that file in place (`kept_existing=True`). The manifest is left alone:
    `finalize_snapshot` rebuilds it from the files. Raises SnapshotStoreError for a district id
    unfit for a file name, statistics of another date, an I/O error or a lock timeout.
    """
    started = time.perf_counter()
    district_id = _checked_district_id(statistics.district_id)
    if statistics.logical_date != logical_date:
        raise SnapshotStoreError(
            f"statistics of district {district_id} are for {statistics.logical_date}, "
            f"not {logical_date}"
        )
    data = _encode(statistics.to_dict())
    files = _files()
    name = _district_name(logical_date, district_id)
    with files.lock(logical_date):
        if _rank(statistics.detail) < _rank(DETAIL_LEVELS[-1]):
            existing = _stored_detail(files, name)
            if existing is not None and _rank(existing) > _rank(statistics.detail):
                kept = files.read(name) or b""
                return DistrictWrite(
                    district_id=district_id,
                    logical_date=logical_date,
                    detail=existing,
                    kept_existing=True,
                    size=len(kept),
                    sha256=hashlib.sha256(kept).hexdigest(),
                )
        files.write(name, data)
    performance.record_operation(
        operation="write_district", seconds=time.perf_counter() - started, size=len(data)
    )
    return DistrictWrite(
        district_id=district_id,
        logical_date=logical_date,
        detail=statistics.detail,
        kept_existing=False,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def district_sha256(statistics: DistrictStatistics) -> str:
    """The sha256 the district file of `statistics` has when `write_district` stores it."""
    return hashlib.sha256(_encode(statistics.to_dict())).hexdigest()


def _stored_detail(files: _FileSystemFiles | _StorageFiles, name: str) -> Detail | None:
    try:
        return _read_statistics(files, name).detail
    except FileNotFoundError:
        return None
    except SnapshotStoreError:
        log.error("replacing unreadable district file %s", name)
        return None


def read_district(*, logical_date: date, district_id: str) -> DistrictStatistics | None:
    """The stored statistics of one district on one date, or None when there are none.

    Raises SnapshotStoreError for a corrupt file, an invalid district id, or a file that holds
    another district than its name says.
    """
    started = time.perf_counter()
    files = _files()
    name = _district_name(logical_date, district_id)
    try:
        statistics = _read_statistics(files, name)
    except FileNotFoundError:
        return None
    if statistics.district_id != district_id:
        raise SnapshotStoreError(
            f"{name} holds district {statistics.district_id}, not {district_id}: refused"
        )
    performance.record_operation(operation="read_district", seconds=time.perf_counter() - started)
    return statistics


def exists(*, logical_date: date, district_id: str, detail: Detail = "summary") -> bool:
    """Is this district stored for this date at `detail` or a more detailed level?"""
    statistics = read_district(logical_date=logical_date, district_id=district_id)
    return statistics is not None and _rank(statistics.detail) >= _rank(detail)


def list_districts(*, logical_date: date) -> list[str]:
    """Ids of the districts that have a file for this date, in district order."""
    _, names = _files().listdir(logical_date.isoformat())
    ids = [
        m.group(1)
        for m in map(DISTRICT_FILE_RE.match, names)
        if m and is_canonical_district_id(m.group(1))
    ]
    return sorted(ids, key=district_sort_key)


def stored_dates() -> list[date]:
    """Every logical date that has a directory in the store, oldest first."""
    directories, _ = _files().listdir("")
    return sorted(date.fromisoformat(d) for d in directories if _is_date(d))


def _is_date(name: str) -> bool:
    if not DATE_DIR_RE.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def scan_date(*, logical_date: date) -> DateScan:
    """Read every district file of a date (sizes, checksums, detail and period fields)."""
    return _scan(_files(), logical_date)


def _scan(files: _FileSystemFiles | _StorageFiles, logical_date: date) -> DateScan:
    stored, corrupt, mismatched = [], [], []
    for district_id in list_districts(logical_date=logical_date):
        name = _district_name(logical_date, district_id)
        data = files.read(name)
        if data is None:
            continue
        try:
            raw = json.loads(data)
            inside = str(raw["district_id"])
            if inside != district_id:
                log.error("snapshot %s: %s holds district %s", logical_date, name, inside)
                mismatched.append((name, inside))
                continue
            stored.append(
                StoredFile(
                    district_id=district_id,
                    file=name.rsplit("/", 1)[1],
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    detail=raw["detail"],
                    as_of_date=date.fromisoformat(raw["as_of_date"]),
                    data_month=raw.get("data_month") or "",
                    is_closing_period=bool(raw.get("is_closing_period")),
                    duplicate_rows=tuple(raw.get("duplicate_rows") or ()),
                )
            )
        except (ValueError, TypeError, KeyError):
            log.error("snapshot %s: unreadable district file %s", logical_date, name)
            corrupt.append(name)
    return DateScan(files=tuple(stored), corrupt=tuple(corrupt), mismatched=tuple(mismatched))


# --- manifests --------------------------------------------------------------------------------


def finalize_snapshot(
    *,
    logical_date: date,
    collection_strategy: str,
    scope: list[str],
    job_id: uuid.UUID | str | None,
    district_errors: dict[str, dict[str, str]],
    as_of_date: date | None = None,
    data_month: str | None = None,
    is_closing_period: bool | None = None,
) -> dict[str, Any]:
    """Rebuild the date's manifest from its district files, write it and index it.

    Under the date's lock: lists every district file on disk with its size and sha256, records
    `district_errors` (district id, or ALL_DISTRICTS for the whole date -> {errorType,
    message}) and sets the status: `failed` when no district file exists, `partial_success` when
    there are errors, else `completed`. The as-of date, data month and closing flag default to
    those of the district files. Upserts the `Snapshot` index row and returns the manifest.
    Raises SnapshotStoreError.
    """
    started = time.perf_counter()
    errors = [
        {
            "districtId": str(district_id),
            "errorType": str((error or {}).get("errorType") or ""),
            "message": str((error or {}).get("message") or ""),
        }
        for district_id, error in district_errors.items()
    ]
    job = _checked_job_id(job_id)
    files = _files()
    with files.lock(logical_date):
        previous = _load_manifest(files, logical_date, tolerate_corrupt=True)
        manifest = _build_manifest(
            files,
            logical_date,
            previous=previous,
            collection_strategy=collection_strategy,
            scope=[str(d) for d in scope],
            job_id=job,
            errors=errors,
            as_of_date=as_of_date,
            data_month=data_month,
            is_closing_period=is_closing_period,
        )
        _publish_manifest(files, logical_date, manifest)
    performance.record_operation(
        operation="finalize_snapshot",
        seconds=time.perf_counter() - started,
        size=sum(f["size"] for f in manifest["files"]),
    )
    return manifest


MISSING_FILE_ERROR = "file_missing"


def rebuild_manifest(*, logical_date: date) -> dict[str, Any] | None:
    """Rebuild a date's manifest from its files, for repairs; it claims only what it can prove.

    Keeps the recorded job, collection strategy, scope and errors (from the `Snapshot` index
    row when the manifest itself is unreadable). A district the old manifest listed whose file
    is gone is recorded as an error (`file_missing`), so the snapshot becomes
    `partial_success`. A listed file whose content changed keeps its recorded size and sha256
    (never re-hashed: verify keeps reporting it). A file holding another district than its
    name is left out. With no district file and no manifest or index row there is no
    snapshot: a corrupt manifest and the index row are removed and None is returned.
    Raises SnapshotStoreError.
    """
    files = _files()
    with files.lock(logical_date):
        previous = _load_manifest(files, logical_date, tolerate_corrupt=True)
        scan = _scan(files, logical_date)
        row = Snapshot.objects.filter(logical_date=logical_date).first()
        if previous is None and not scan.files and row is None:
            files.delete(_manifest_name(logical_date))
            return None
        if previous is None and row is not None:
            previous = {
                "collectionStrategy": row.collection_strategy,
                "scope": list(row.scope or []),
                "jobId": str(row.job_id) if row.job_id else None,
                "createdAt": row.created_at.isoformat(),
            }
        previous = previous or {}
        listed = {entry.get("districtId"): entry for entry in previous.get("files") or []}
        errors = list(previous.get("errors") or [])
        on_disk = {f.district_id for f in scan.files}
        with_error = {e.get("districtId") for e in errors}
        for district_id in sorted(set(listed) - on_disk - with_error, key=district_sort_key):
            errors.append(
                {
                    "districtId": district_id,
                    "errorType": MISSING_FILE_ERROR,
                    "message": f"{listed[district_id].get('file')} is missing from the store",
                }
            )
        manifest = _build_manifest(
            files,
            logical_date,
            previous=previous,
            collection_strategy=previous.get("collectionStrategy") or "unknown",
            scope=list(previous.get("scope") or []),
            job_id=previous.get("jobId"),
            errors=errors,
            as_of_date=None,
            data_month=None,
            is_closing_period=None,
            scan=scan,
        )
        for entry in manifest["files"]:
            recorded = listed.get(entry["districtId"])
            if recorded and (recorded.get("size"), recorded.get("sha256")) != (
                entry["size"],
                entry["sha256"],
            ):
                entry.update(size=recorded.get("size"), sha256=recorded.get("sha256"))
        _publish_manifest(files, logical_date, manifest)
    return manifest


def reindex(*, logical_date: date) -> Snapshot | None:
    """Make the index row of a date match its manifest (delete it when there is none)."""
    manifest = read_manifest(logical_date=logical_date)
    if manifest is None:
        Snapshot.objects.filter(logical_date=logical_date).delete()
        return None
    return _index_upsert(manifest)


def read_manifest(*, logical_date: date) -> dict[str, Any] | None:
    """The manifest of a date, or None when the date has none. Raises SnapshotStoreError."""
    started = time.perf_counter()
    manifest = _load_manifest(_files(), logical_date, tolerate_corrupt=False)
    performance.record_operation(operation="read_manifest", seconds=time.perf_counter() - started)
    return manifest


def _load_manifest(
    files: _FileSystemFiles | _StorageFiles, logical_date: date, *, tolerate_corrupt: bool
) -> dict[str, Any] | None:
    name = _manifest_name(logical_date)
    data = files.read(name)
    if data is None:
        return None
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        if tolerate_corrupt:
            log.error("snapshot %s: replacing unreadable manifest: %s", logical_date, exc)
            return None
        raise SnapshotStoreError(f"{name} is not a readable manifest: {exc}") from exc
    # Manifests written before the status words were unified with the job's.
    status = manifest.get("status")
    manifest["status"] = _LEGACY_STATUSES.get(status, status)
    return manifest


_LEGACY_STATUSES = {"success": SnapshotStatus.COMPLETED, "partial": SnapshotStatus.PARTIAL_SUCCESS}


def _checked_job_id(job_id: uuid.UUID | str | None) -> str | None:
    if job_id in (None, ""):
        return None
    try:
        return str(uuid.UUID(str(job_id)))
    except ValueError as exc:
        raise SnapshotStoreError(f"invalid job id {job_id!r}") from exc


def _build_manifest(
    files: _FileSystemFiles | _StorageFiles,
    logical_date: date,
    *,
    previous: dict[str, Any] | None,
    collection_strategy: str,
    scope: list[str],
    job_id: str | None,
    errors: list[dict[str, str]],
    as_of_date: date | None,
    data_month: str | None,
    is_closing_period: bool | None,
    scan: DateScan | None = None,
) -> dict[str, Any]:
    stored = (scan or _scan(files, logical_date)).files
    latest = max(stored, key=lambda f: f.as_of_date, default=None)
    if as_of_date is None and latest is not None:
        as_of_date = latest.as_of_date
    if data_month is None and latest is not None:
        data_month = latest.data_month
    if is_closing_period is None:
        is_closing_period = latest.is_closing_period if latest is not None else False
    if not stored:
        status = SnapshotStatus.FAILED
    elif errors:
        status = SnapshotStatus.PARTIAL_SUCCESS
    else:
        status = SnapshotStatus.COMPLETED
    now = timezone.now().isoformat()
    return {
        "schemaVersion": SCHEMA_VERSION,
        "snapshotId": logical_date.isoformat(),
        "date": logical_date.isoformat(),
        "asOfDate": as_of_date.isoformat() if as_of_date else None,
        "dataMonth": data_month or None,
        "isClosingPeriod": bool(is_closing_period),
        "status": str(status),
        "collectionStrategy": collection_strategy,
        "scope": scope,
        "detailLevels": {f.district_id: f.detail for f in stored},
        "jobId": job_id,
        "createdAt": (previous or {}).get("createdAt") or now,
        "updatedAt": now,
        "files": [
            {"districtId": f.district_id, "file": f.file, "size": f.size, "sha256": f.sha256}
            for f in stored
        ],
        "errors": sorted(errors, key=lambda e: district_sort_key(e["districtId"])),
        # Clubs a source export listed twice with different cells: which row was kept and why.
        "duplicates": {
            f.district_id: [
                {
                    "report": d.get("report"),
                    "clubNumber": d.get("club_number"),
                    "keptLine": d.get("kept_line"),
                    "droppedLines": d.get("dropped_lines"),
                    "reason": d.get("reason"),
                }
                for d in f.duplicate_rows
            ]
            for f in stored
            if f.duplicate_rows
        },
    }


def _publish_manifest(
    files: _FileSystemFiles | _StorageFiles, logical_date: date, manifest: dict[str, Any]
) -> None:
    # Called under the date's lock, so manifest and index row change together and in order.
    files.write(_manifest_name(logical_date), _encode(manifest, indent=2))
    for name in files.dead_temp_files(logical_date.isoformat()):
        _remove_quietly(files, name)
    _index_upsert(manifest)


def _remove_quietly(files: _FileSystemFiles | _StorageFiles, name: str) -> None:
    try:
        files.delete(name)
    except SnapshotStoreError as exc:
        log.warning("could not remove the leftover temporary file %s: %s", name, exc)


# --- the index --------------------------------------------------------------------------------


def manifest_index_fields(manifest: dict[str, Any]) -> dict[str, Any]:
    """The `Snapshot` row fields (other than the date) that mirror a manifest."""
    as_of = manifest.get("asOfDate")
    job_id = manifest.get("jobId")
    return {
        "as_of_date": date.fromisoformat(as_of) if as_of else None,
        "data_month": manifest.get("dataMonth") or "",
        "is_closing_period": bool(manifest.get("isClosingPeriod")),
        "status": manifest.get("status") or SnapshotStatus.FAILED,
        "collection_strategy": manifest.get("collectionStrategy") or "",
        "scope": list(manifest.get("scope") or []),
        "district_count": len(manifest.get("files") or []),
        "error_count": len(manifest.get("errors") or []),
        "size_bytes": sum(int(f.get("size") or 0) for f in manifest.get("files") or []),
        "job_id": uuid.UUID(job_id) if job_id else None,
        "created_at": _datetime(manifest.get("createdAt")),
        "updated_at": _datetime(manifest.get("updatedAt")),
    }


def _datetime(value: str | None) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            log.warning("manifest time %r is not ISO 8601; indexing it as now", value)
    return timezone.now()


def _index_upsert(manifest: dict[str, Any]) -> Snapshot:
    row, _ = Snapshot.objects.update_or_create(
        logical_date=date.fromisoformat(manifest["date"]),
        defaults=manifest_index_fields(manifest),
    )
    return row


# --- raw CSV archive --------------------------------------------------------------------------


def archive_raw_csv(*, as_of: date, report: str, district_id: str | None, data: bytes) -> str:
    """Keep a downloaded CSV exactly as received, one file per (as-of date, report, district).

    `district_id` is None for system-wide reports (the district summary). Replaces an earlier
    copy atomically. Returns the stored name. Raises SnapshotStoreError.
    """
    started = time.perf_counter()
    files = _files()
    name = _raw_name(as_of, report, district_id)
    files.write(name, bytes(data))
    # A writer killed mid-write leaves its temporary file; the next writer here clears it.
    for leftover in files.dead_temp_files(name.rsplit("/", 1)[0]):
        _remove_quietly(files, leftover)
    performance.record_operation(
        operation="archive_raw_csv", seconds=time.perf_counter() - started, size=len(data)
    )
    return name


def read_raw_csv(*, as_of: date, report: str, district_id: str | None) -> bytes | None:
    """The archived CSV bytes, or None when that export was never archived."""
    started = time.perf_counter()
    data = _files().read(_raw_name(as_of, report, district_id))
    performance.record_operation(
        operation="read_raw_csv", seconds=time.perf_counter() - started, size=len(data or b"")
    )
    return data


def archived_districts(*, as_of: date, report: str) -> set[str]:
    """Which districts have an archived CSV of `report` as of `as_of`: canonical ids, and
    `ALL_DISTRICTS` for a system-wide report's `all.csv`. One directory listing."""
    directory = _raw_name(as_of, report, None).rsplit("/", 1)[0]
    _, names = _files().listdir(directory)
    found = {ALL_DISTRICTS} if "all.csv" in names else set()
    for name in names:
        match = RAW_DISTRICT_FILE_RE.match(name)
        if match and is_canonical_district_id(match.group(1)):
            found.add(match.group(1))
    return found


# --- analytics documents ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDocument:
    name: str
    size: int
    sha256: str


def _document_name(name: str) -> str:
    parts = name.split("/")
    if (
        len(parts) < 2
        or parts[0] != ANALYTICS_DIR
        or any(not p or p.startswith(".") or p == ".." for p in parts)
        or not name.endswith(".json")
    ):
        raise SnapshotStoreError(f"invalid analytics document name {name!r}")
    return name


def write_document(*, name: str, payload: dict[str, Any]) -> StoredDocument:
    """Store a derived JSON document (`analytics/...json`) atomically and durably, beside the
    snapshots. The bytes depend only on `payload` (its key order included), so a payload built
    deterministically is re-written byte for byte. Raises SnapshotStoreError."""
    name = _document_name(name)
    data = _encode(payload)
    _files().write(name, data)
    return StoredDocument(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def read_document(*, name: str) -> dict[str, Any] | None:
    """A document written by `write_document`, or None when there is none. Raises
    SnapshotStoreError for an unreadable file or an invalid name."""
    name = _document_name(name)
    data = _files().read(name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SnapshotStoreError(f"{name} is not a readable JSON document: {exc}") from exc


# --- housekeeping and health ------------------------------------------------------------------


def temp_leftovers() -> list[str]:
    """Temporary files left by writers that died (a live writer's files are not listed)."""
    return _files().all_dead_temp_files()


def temp_files() -> list[str]:
    """Every temporary file in the store, of any name, whoever wrote it."""
    return _files().all_temp_files()


def remove_temp_leftovers() -> int:
    """Delete the temporary files of dead writers; returns how many were removed."""
    files = _files()
    leftovers = files.all_dead_temp_files()
    for name in leftovers:
        _remove_quietly(files, name)
    return len(leftovers)


@dataclass(frozen=True)
class RootStatus:
    location: str
    writable: bool
    free_space_bytes: int | None


def root_status() -> RootStatus:
    """Where the store writes, whether a file can be created there, and the free space."""
    files = _files()
    return RootStatus(
        location=files.describe(), writable=files.writable(), free_space_bytes=files.free_space()
    )


@dataclass(frozen=True)
class DateDirectory:
    has_manifest: bool
    district_files: int


def date_directory(*, logical_date: date) -> DateDirectory:
    """What a date's directory holds, from one listing (no file is read)."""
    _, names = _files().listdir(logical_date.isoformat())
    return DateDirectory(
        has_manifest=MANIFEST_FILE in names,
        district_files=sum(1 for n in names if DISTRICT_FILE_RE.match(n)),
    )
