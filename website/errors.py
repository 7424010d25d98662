"""The publishing library's errors: each says what to fix."""

from __future__ import annotations

from backfill_project.errors import DomainError


class PublishError(DomainError):
    """Publishing could not start or could not write (the message names the destination)."""

    code = "publish_failed"


class NoDestination(PublishError):
    """No destination given and `PUBLISH_DESTINATION` is empty."""

    code = "no_publish_destination"


class BadDestination(PublishError):
    """A destination that is not `file:///dir`, `s3://bucket/prefix` or `gs://bucket/prefix`."""

    code = "bad_publish_destination"
