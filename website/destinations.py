"""Where the site's files go, named by one URL-like string (`PUBLISH_DESTINATION`):

- `file:///srv/cdn`: a directory; each file is written to a temporary name beside it, fsynced
  and renamed over the target, so a reader sees the old file or the new one;
- `s3://bucket/prefix`: an S3 bucket through django-storages' S3Storage (as the snapshot store),
  each object one PutObject (atomic in S3); `PUBLISH_S3_ENDPOINT_URL` for MinIO, R2 or moto;
- `gs://bucket/prefix`: a Google Cloud Storage bucket through django-storages' Google backend,
  each object one upload request (a whole object, replaced atomically). The Google client
  honours `STORAGE_EMULATOR_HOST`, which the tests point at `gcp-storage-emulator`.

A destination only writes whole objects; what changed is decided by the caller (the hashes
kept in the database, `website.publishing`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings

from website.errors import BadDestination, NoDestination, PublishError

CONTENT_TYPE = "application/json"


class Destination(Protocol):
    url: str

    def write(self, path: str, data: bytes) -> None:
        """Write one whole file at `path` (relative, `/`-separated). Raises PublishError."""


def _checked_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PublishError(f"refusing to publish to the path {path!r}")
    return path


@dataclass(frozen=True)
class DirectoryDestination:
    url: str
    root: Path

    def write(self, path: str, data: bytes) -> None:
        target = self.root / _checked_path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise PublishError(f"could not write {path} to {self.url}: {exc}") from exc


@dataclass(frozen=True)
class S3Destination:
    url: str
    storage: Any  # storages.backends.s3.S3Storage

    def write(self, path: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.storage._normalize_name(_checked_path(path))
        try:
            self.storage.connection.meta.client.put_object(
                Bucket=self.storage.bucket_name, Key=key, Body=data, ContentType=CONTENT_TYPE
            )
        except (BotoCoreError, ClientError) as exc:
            raise PublishError(f"could not write {path} to {self.url}: {exc}") from exc


@dataclass(frozen=True)
class GcsDestination:
    url: str
    storage: Any  # storages.backends.gcloud.GoogleCloudStorage

    def write(self, path: str, data: bytes) -> None:
        from google.api_core.exceptions import GoogleAPIError

        key = self.storage._normalize_name(_checked_path(path))
        try:
            blob = self.storage.bucket.blob(key)
            # One request for the whole object (a multipart upload, not a resumable one).
            blob.upload_from_string(data, content_type=CONTENT_TYPE)
        except GoogleAPIError as exc:
            raise PublishError(f"could not write {path} to {self.url}: {exc}") from exc


def _bucket_and_prefix(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if not parts.netloc or parts.query or parts.fragment:
        raise BadDestination(f"{url!r}: expected {parts.scheme}://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


def destination_of(url: str | None) -> Destination:
    """The destination named by `url`, or by `PUBLISH_DESTINATION` when `url` is empty.
    Raises NoDestination when neither names one, BadDestination for any other form."""
    url = (url or settings.PUBLISH_DESTINATION or "").strip()
    if not url:
        raise NoDestination(
            "no publish destination: pass one (file:///dir, s3://bucket/prefix, "
            "gs://bucket/prefix) or set PUBLISH_DESTINATION"
        )
    scheme = urlsplit(url).scheme
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise BadDestination(f"{url!r}: expected file:///absolute/directory")
        return DirectoryDestination(url=url, root=Path(parts.path))
    if scheme == "s3":
        from storages.backends.s3 import S3Storage

        bucket, prefix = _bucket_and_prefix(url)
        options = {"bucket_name": bucket, "location": prefix, "file_overwrite": True}
        if settings.PUBLISH_S3_ENDPOINT_URL:
            options["endpoint_url"] = settings.PUBLISH_S3_ENDPOINT_URL
        return S3Destination(url=url, storage=S3Storage(**options))
    if scheme == "gs":
        from storages.backends.gcloud import GoogleCloudStorage

        bucket, prefix = _bucket_and_prefix(url)
        options = {"bucket_name": bucket, "location": prefix, "file_overwrite": True}
        if settings.PUBLISH_GCS_PROJECT:
            options["project_id"] = settings.PUBLISH_GCS_PROJECT
        return GcsDestination(url=url, storage=GoogleCloudStorage(**options))
    raise BadDestination(
        f"{url!r}: a publish destination is file:///dir, s3://bucket/prefix or gs://bucket/prefix"
    )
