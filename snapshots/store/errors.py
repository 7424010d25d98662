"""The snapshot store's one exception."""


class SnapshotStoreError(Exception):
    """A snapshot file could not be written or read: bad input, I/O error, corrupt file or a
    lock that could not be obtained in time."""
