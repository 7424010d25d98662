"""The snapshot store's exceptions, and which OS errors and S3 codes say the store as a whole
cannot take writes."""

import errno


class SnapshotStoreError(Exception):
    """A snapshot file could not be written or read: bad input, I/O error, corrupt file or a
    lock that could not be obtained in time."""


class StoreUnwritable(SnapshotStoreError):
    """The store as a whole cannot take writes right now: the disk is full or below the free
    space it must keep (`SNAPSHOT_MIN_FREE_BYTES`), a quota is exhausted, the filesystem is
    read-only, or the store refuses writes (permissions, a bucket's access). Not a fault of the
    file being written: writing anything else would fail the same way until it is fixed.

    `reason` is one of `UNWRITABLE_REASONS`."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# reason -> how it reads in a sentence ("the snapshot store /x is full").
UNWRITABLE_REASONS = {
    "full": "is full",
    "low_space": "is nearly full",
    "quota": "is over its quota",
    "read_only": "is read-only",
    "denied": "refuses writes",
}


# OS errors that say the store as a whole cannot take writes, whatever the file.
UNWRITABLE_ERRNOS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "quota",
    errno.EROFS: "read_only",
    errno.EACCES: "denied",
    errno.EPERM: "denied",
}
# S3 (and S3-compatible) error codes that say the same of a bucket.
UNWRITABLE_S3_CODES = {
    "AccessDenied": "denied",
    "AllAccessDisabled": "denied",
    "AccountProblem": "denied",
    "InvalidAccessKeyId": "denied",
    "NoSuchBucket": "denied",
    "XMinioStorageFull": "full",
}


def write_error(message: str, exc: OSError) -> SnapshotStoreError:
    """The store's error for an OS error while writing: `StoreUnwritable` when it says the
    store cannot take writes at all (disk full, quota, read-only, permission)."""
    reason = UNWRITABLE_ERRNOS.get(exc.errno)
    if reason is not None:
        return StoreUnwritable(f"{message}: {exc}", reason=reason)
    return SnapshotStoreError(f"{message}: {exc}")
