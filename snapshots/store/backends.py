"""Where the store's bytes live: `store_files()` picks the backend of the `snapshots` storage,
a filesystem (snapshots/store/filesystem.py) or an object store (snapshots/store/object_storage.py:
an S3 bucket or any other Django storage). Both offer the same operations (`StoreFiles`)."""

from __future__ import annotations

import logging

from django.core.files.storage import FileSystemStorage, storages

from snapshots.store.errors import SnapshotStoreError
from snapshots.store.filesystem import FileSystemFiles
from snapshots.store.object_storage import S3Files, StorageFiles

log = logging.getLogger(__name__)

STORAGE_ALIAS = "snapshots"

StoreFiles = FileSystemFiles | StorageFiles


def store_files() -> FileSystemFiles | StorageFiles:
    # Looked up on every call: Django resets `storages` when STORAGES changes (tests do that).
    storage = storages[STORAGE_ALIAS]
    if isinstance(storage, FileSystemStorage):
        return FileSystemFiles(storage)
    from storages.backends.s3 import S3Storage

    if isinstance(storage, S3Storage):
        return S3Files(storage)
    return StorageFiles(storage)


def remove_quietly(files: StoreFiles, name: str) -> None:
    try:
        files.delete(name)
    except SnapshotStoreError as exc:
        log.warning("could not remove the leftover temporary file %s: %s", name, exc)
