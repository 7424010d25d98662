"""Reading a published site's file tree where it lives: a directory or a bucket.

A source is named by a URL-like string, as a publish destination is: `file:///srv/cdn` (or a
bare directory path), `s3://bucket/prefix` (django-storages' S3Storage; credentials and region
from boto3's own chain, the service from `PUBLISH_S3_ENDPOINT_URL` as for publishing) or
`gs://bucket/prefix` (django-storages' Google backend; `PUBLISH_GCS_PROJECT`, and
`STORAGE_EMULATOR_HOST` for an emulator). Paths inside it are the site's
(`snapshots/2025-03-10/district_42.json`). Only reads: an import never writes to the site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from google.api_core.exceptions import GoogleAPIError, NotFound

# What the backends raise when a listing or a read fails (permissions, network, no bucket).
_SOURCE_ERRORS = (OSError, BotoCoreError, ClientError, GoogleAPIError)


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
        except _SOURCE_ERRORS as exc:
            raise SiteSourceError(f"cannot list {path!r} in {self.url}: {exc}") from exc
        return sorted(directories), sorted(files)

    def read(self, path: str) -> bytes | None:
        """The bytes of one file, or None when it does not exist. Raises SiteSourceError when
        the source refuses the read."""
        try:
            with self.storage.open(path, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotFound):
            return None
        except _SOURCE_ERRORS as exc:
            if isinstance(exc, ClientError) and _s3_code(exc) in ("NoSuchKey", "404"):
                return None
            raise SiteSourceError(f"cannot read {path!r} from {self.url}: {exc}") from exc


def open_source(url: str) -> SiteSource:
    """The site tree at `url`. Raises SiteSourceError for an unknown scheme, a directory that
    does not exist or a bucket URL without a bucket."""
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
    options = {"bucket_name": parsed.netloc, "location": prefix}
    if scheme == "s3":
        from storages.backends.s3 import S3Storage

        if settings.PUBLISH_S3_ENDPOINT_URL:
            options["endpoint_url"] = settings.PUBLISH_S3_ENDPOINT_URL
        return SiteSource(url=url, storage=S3Storage(**options))
    from storages.backends.gcloud import GoogleCloudStorage

    if settings.PUBLISH_GCS_PROJECT:
        options["project_id"] = settings.PUBLISH_GCS_PROJECT
    return SiteSource(url=url, storage=GoogleCloudStorage(**options))


def _s3_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
