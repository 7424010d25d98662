"""The store on any other Django storage: an S3 bucket (django-storages' S3Storage) through the
S3 API itself (one put or get per object), or any storage through plain saves; the per-date lock
lives in Redis so that workers on several hosts share it."""

from __future__ import annotations

import functools
import os
import secrets
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from backfill_project.redis_locks import LockNotAcquired, renewed_lock
from snapshots.store.errors import (
    UNWRITABLE_S3_CODES,
    SnapshotStoreError,
    StoreUnwritable,
    write_error,
)
from snapshots.store.layout import LOCK_TIMEOUT_SECONDS, TEMP_SUFFIX


class StorageFiles:
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
            raise write_error(f"could not write {name}", exc) from exc
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
                redis_client(settings.REDIS_URL), key, lease=lease, wait=LOCK_TIMEOUT_SECONDS
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


class S3Files(StorageFiles):
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
            reason = UNWRITABLE_S3_CODES.get(exc.response.get("Error", {}).get("Code", ""))
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
def redis_client(url: str) -> redis.Redis:
    # One pool per process (redis-py makes a new one after a fork), not one per lock.
    return redis.Redis.from_url(url)
