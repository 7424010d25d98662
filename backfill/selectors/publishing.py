"""Reads of the publish history: a publish job's steps (each date's files, then the indexes) as
its admin page shows them, with links to the files where they were published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urlsplit

from django.conf import settings

from ..models import BackfillJob, PublishStep

# Files linked per step on the job page (a date holds one file per district and a few more).
LINKED_PATHS = 12


@dataclass(frozen=True)
class PublishedFile:
    path: str
    url: str


@dataclass(frozen=True)
class PublishStepView:
    """One step of a publish job: `logical_date` None for the indexes (written last)."""

    logical_date: date | None
    destination: str
    written: int
    skipped: int
    bytes: int
    duration_ms: int
    started_at: datetime
    errors: tuple[str, ...]
    files: tuple[PublishedFile, ...]  # the first LINKED_PATHS written
    more_files: int


@dataclass(frozen=True)
class PublishHistory:
    """A publish job's steps, oldest first, and their totals."""

    steps: tuple[PublishStepView, ...]
    written: int
    skipped: int
    bytes: int
    duration_ms: int
    errors: int


def file_url(destination: str, path: str) -> str:
    """Where a published file can be opened: a `file://` URL under a directory destination;
    the bucket's HTTPS URL (the S3 endpoint when PUBLISH_S3_ENDPOINT_URL names one, Google's
    public storage host for gs://)."""
    parts = urlsplit(destination)
    prefix = parts.path.strip("/")
    key = quote(f"{prefix}/{path}" if prefix else path)
    if parts.scheme == "s3":
        endpoint = getattr(settings, "PUBLISH_S3_ENDPOINT_URL", "")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{parts.netloc}/{key}"
        return f"https://{parts.netloc}.s3.amazonaws.com/{key}"
    if parts.scheme == "gs":
        return f"https://storage.googleapis.com/{parts.netloc}/{key}"
    root = parts.path if parts.scheme == "file" else destination
    return f"file://{quote(root.rstrip('/'))}/{quote(path)}"


def job_publish_history(*, job: BackfillJob) -> PublishHistory:
    """The publish steps of `job`, oldest first (empty for any job that publishes nothing)."""
    steps = tuple(
        _view(step) for step in PublishStep.objects.filter(job=job).order_by("started_at", "id")
    )
    return PublishHistory(
        steps=steps,
        written=sum(s.written for s in steps),
        skipped=sum(s.skipped for s in steps),
        bytes=sum(s.bytes for s in steps),
        duration_ms=sum(s.duration_ms for s in steps),
        errors=sum(len(s.errors) for s in steps),
    )


def _view(step: PublishStep) -> PublishStepView:
    paths = list(step.paths)
    return PublishStepView(
        logical_date=step.logical_date,
        destination=step.destination,
        written=step.written,
        skipped=step.skipped,
        bytes=step.bytes,
        duration_ms=step.duration_ms,
        started_at=step.started_at,
        errors=tuple(step.errors),
        files=tuple(
            PublishedFile(path, file_url(step.destination, path)) for path in paths[:LINKED_PATHS]
        ),
        more_files=max(len(paths) - LINKED_PATHS, 0),
    )
