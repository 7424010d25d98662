"""Reading a published site's file tree where it lives: a directory or a bucket.

A source is named by a URL-like string, as a publish destination is: `file:///srv/cdn` (or a
bare directory path), `s3://bucket/prefix` (django-storages' S3Storage; credentials, region and
endpoint from boto3's own chain: `AWS_*` variables, `AWS_ENDPOINT_URL_S3` for MinIO or moto)
or `gs://bucket/prefix` (django-storages' Google backend, when `google-cloud-storage` is
installed). Paths inside it are the site's (`snapshots/2025-03-10/district_42.json`). Only
reads: an import never writes to the site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from django.core.files.storage import FileSystemStorage, Storage


class SiteSourceError(Exception):
    """The source cannot be opened or read (bad URL, missing directory, refused bucket)."""


@dataclass(frozen=True)
class SiteSource:
    """One site tree to read: its URL (as given) and the storage that reads it."""

    url: str
    storage: Storage

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        """(directories, files) directly under `path`; both empty when it does not exist.
        Raises SiteSourceError when the source refuses the listing."""
        try:
            directories, files = self.storage.listdir(path)
        except FileNotFoundError:
            return [], []
        except Exception as exc:  # the backends' own errors (botocore, google.api_core)
            raise SiteSourceError(f"cannot list {path!r} in {self.url}: {exc}") from exc
        return sorted(directories), sorted(files)

    def read(self, path: str) -> bytes | None:
        """The bytes of one file, or None when it does not exist. Raises SiteSourceError when
        the source refuses the read."""
        try:
            with self.storage.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise SiteSourceError(f"cannot read {path!r} from {self.url}: {exc}") from exc


def open_source(url: str) -> SiteSource:
    """The site tree at `url`. Raises SiteSourceError for an unknown scheme, a directory that
    does not exist, a bucket URL without a bucket, or a backend that is not installed."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file"):
        directory = Path(parsed.path if scheme == "file" else url)
        if not directory.is_dir():
            raise SiteSourceError(f"{url}: no such directory")
        return SiteSource(url=url, storage=FileSystemStorage(location=str(directory)))
    if scheme not in ("s3", "gs"):
        raise SiteSourceError(
            f"{url}: expected file:///dir, s3://bucket/prefix or gs://bucket/prefix"
        )
    if not parsed.netloc:
        raise SiteSourceError(f"{url}: no bucket named")
    prefix = parsed.path.strip("/")
    if scheme == "s3":
        from storages.backends.s3 import S3Storage

        return SiteSource(
            url=url,
            storage=S3Storage(bucket_name=parsed.netloc, location=prefix, default_acl=None),
        )
    try:
        from storages.backends.gcloud import GoogleCloudStorage
    except ImportError as exc:
        raise SiteSourceError(f"{url}: reading gs:// needs google-cloud-storage ({exc})") from exc
    return SiteSource(
        url=url, storage=GoogleCloudStorage(bucket_name=parsed.netloc, location=prefix)
    )


def _is_missing(exc: Exception) -> bool:
    """Does a backend's error say the object does not exist (S3 `NoSuchKey`/404, GCS 404)?"""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return error.get("Code") in ("NoSuchKey", "404", "NotFound")
    return getattr(exc, "code", None) == 404
