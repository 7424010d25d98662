"""Publishing the site's file tree from our store to a destination (the interface the jobs,
the command and the beat schedule use).

Only changed objects are written: the SHA-256 of each object last written to a destination is
kept in `PublishedObject`, and a file whose bytes hash the same is skipped, so publishing the
same store twice writes nothing. A date whose sources (district files, archived reports,
rankings) hash as when it was last published there (`PublishedDate`) is not even rebuilt.

A date's district files and rankings go before its manifest and metadata; the indexes (time
series, `v1/`, `config/`) go after every date, `v1/latest.json` last of all, and name only
dates whose manifest is at the destination, so the site never points at a date that is half
written. Publishing stops a group of files (a date, or the indexes) at its first failed write
and reports it in the outcome's errors.

One publish of the indexes (alone or in `publish`) runs at a time per destination, under a
Redis lock renewed while its holder lives, so two never interleave their `v1/latest.json`.
Per-date publishes need no lock: their files are the date's own, and the indexes name a date
only once its group is recorded whole.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import redis
from django.conf import settings
from django.utils import timezone

from backfill_project.redis_locks import LockNotAcquired, renewed_lock
from snapshots import store
from website.destinations import Destination, destination_of
from website.errors import PublishError
from website.models import PublishedDate, PublishedObject, PublishRun
from website.tree import (
    DateFacts,
    SiteFile,
    date_facts,
    date_files,
    index_files,
    read_date,
    source_sha256,
)

log = logging.getLogger(__name__)
# Files compared with what the destination holds, and recorded, per query.
WRITE_CHUNK = 500

LOCK_LEASE_SECONDS = 10.0
# How long a publish waits for another one to the same destination to finish.
LOCK_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish did: objects written and skipped (unchanged), bytes written, the paths
    written (in order) and the errors met."""

    written: int = 0
    skipped: int = 0
    bytes: int = 0
    paths: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def __add__(self, other: PublishOutcome) -> PublishOutcome:
        return PublishOutcome(
            written=self.written + other.written,
            skipped=self.skipped + other.skipped,
            bytes=self.bytes + other.bytes,
            paths=self.paths + other.paths,
            errors=self.errors + other.errors,
        )


def publishable_dates(start: date | None = None, end: date | None = None) -> list[date]:
    """The stored snapshot dates from `start` to `end` (both included, open when None), oldest
    first."""
    return [
        day
        for day in store.stored_dates()
        if (start is None or day >= start) and (end is None or day <= end)
    ]


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@contextmanager
def _one_publisher(target: Destination) -> Iterator[None]:
    """Hold the destination's publish lock. Raises PublishError when another publish keeps it
    past LOCK_WAIT_SECONDS or Redis cannot be reached."""
    key = f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:website:publish:{target.url}"
    entered = False
    try:
        with renewed_lock(
            _redis(settings.REDIS_URL), key, lease=LOCK_LEASE_SECONDS, wait=LOCK_WAIT_SECONDS
        ):
            entered = True
            yield
    except LockNotAcquired as exc:
        raise PublishError(
            f"another publish to {target.url} ran for over {LOCK_WAIT_SECONDS:.0f} s"
        ) from exc
    except redis.RedisError as exc:
        if entered:
            raise
        raise PublishError(f"could not lock the publishes to {target.url}: {exc}") from exc


def _write(
    target: Destination, files: Iterable[SiteFile], *, dry_run: bool = False
) -> PublishOutcome:
    """Write the files whose bytes differ from what `target` last received, in order; stop at
    the first failed write. A dry run writes and records nothing but counts the same. `files`
    may be a generator: they are taken WRITE_CHUNK at a time and a file's bytes are dropped once
    written (a year's analytics are hundreds of MB)."""
    written: list[tuple[str, str, int]] = []  # path, sha256, bytes
    skipped = 0
    error: str | None = None
    pending = iter(files)
    while chunk := list(itertools.islice(pending, WRITE_CHUNK)):
        known = dict(
            PublishedObject.objects.filter(
                destination=target.url, path__in=[f.path for f in chunk]
            ).values_list("path", "sha256")
        )
        done: list[tuple[str, str, int]] = []
        for file in chunk:
            if known.get(file.path) == file.sha256:
                skipped += 1
                continue
            if not dry_run:
                try:
                    target.write(file.path, file.data)
                except PublishError as exc:
                    log.error("publish to %s: %s", target.url, exc.message)
                    error = exc.message
                    break
            done.append((file.path, file.sha256, len(file.data)))
        if not dry_run:
            _record_written(target, done)
        written.extend(done)
        if error:
            break
    return PublishOutcome(
        written=len(written),
        skipped=skipped,
        bytes=sum(size for _, _, size in written),
        paths=tuple(path for path, _, _ in written),
        errors=(error,) if error else (),
    )


def _record_written(target: Destination, written: Sequence[tuple[str, str, int]]) -> None:
    now = timezone.now()
    PublishedObject.objects.bulk_create(
        [
            PublishedObject(
                destination=target.url, path=path, sha256=sha256, bytes=size, published_at=now
            )
            for path, sha256, size in written
        ],
        update_conflicts=True,
        unique_fields=["destination", "path"],
        update_fields=["sha256", "bytes", "published_at"],
    )


class _SharedClubs:
    """The facts of every date are held until the indexes are built; their club tables (about
    9,000 clubs a date) are most of that. Clubs barely change from one date to the next, so a
    date whose table equals the previous one keeps that one, and every (district, name) entry
    is held once: about 1 MB a date instead of 2.5 (120 districts)."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[str, str]] = {}
        self.entries: dict[tuple[str, str], tuple[str, str]] = {}

    def of(self, facts: DateFacts) -> DateFacts:
        if facts.clubs != self.last:
            self.last = {
                sys.intern(number): self.entries.setdefault(entry, entry)
                for number, entry in facts.clubs.items()
            }
        return dataclasses.replace(facts, clubs=self.last)


def _dates_at(target: Destination) -> set[date]:
    """The dates whose manifest is at the destination (recorded in `PublishedObject`)."""
    paths = PublishedObject.objects.filter(
        destination=target.url, path__startswith="snapshots/", path__endswith="/manifest.json"
    ).values_list("path", flat=True)
    return {date.fromisoformat(p.split("/")[1]) for p in paths}


def _publish_dates(
    target: Destination, dates: Iterable[date], *, dry_run: bool = False
) -> tuple[PublishOutcome, dict[date, DateFacts]]:
    days = sorted(set(dates))
    published = {
        row.date: row for row in PublishedDate.objects.filter(destination=target.url, date__in=days)
    }
    outcome, facts, shared = PublishOutcome(), {}, _SharedClubs()
    for day in days:
        result, facts[day] = _publish_date(target, day, published.get(day), shared, dry_run)
        outcome += result
    return outcome, facts


def _publish_date(
    target: Destination,
    day: date,
    known: PublishedDate | None,
    shared: _SharedClubs,
    dry_run: bool,
) -> tuple[PublishOutcome, DateFacts]:
    """One date's files written unless its sources hash as when `known` was recorded. A
    function of its own so that the date's statistics, reports and files are freed before the
    next date is read (a date's working set, not two, at the peak)."""
    stored = read_date(day)
    facts = shared.of(stored.facts)
    source = source_sha256(stored)
    if known is not None and known.source_sha256 == source:
        return PublishOutcome(skipped=known.files), facts
    files = date_files(stored)
    result = _write(target, files, dry_run=dry_run)
    if not dry_run and not result.errors:
        PublishedDate.objects.update_or_create(
            destination=target.url,
            date=day,
            defaults={
                "source_sha256": source,
                "files": len(files),
                "published_at": timezone.now(),
            },
        )
    return result, facts


def _publish_indexes(
    target: Destination, known: dict[date, DateFacts], *, dry_run: bool = False
) -> PublishOutcome:
    days = _dates_at(target)
    if dry_run:  # the dates this run would have written are at the destination too
        days |= {day for day, facts in known.items() if facts.published}
    shared = _SharedClubs()
    facts = [known[day] if day in known else shared.of(date_facts(day)) for day in sorted(days)]
    return _write(target, index_files(facts), dry_run=dry_run)


def publish_dates(destination: str | None, dates: Sequence[date]) -> PublishOutcome:
    """Publish the per-date files (`snapshots/{date}/...`) of `dates` to `destination`
    ("" or None: `PUBLISH_DESTINATION`). Raises NoDestination / BadDestination."""
    outcome, _ = _publish_dates(destination_of(destination), dates)
    return outcome


def publish_indexes(destination: str | None) -> PublishOutcome:
    """Publish the files over every date at `destination` (time series, `v1/`, `config/`),
    `v1/latest.json` last. Raises NoDestination / BadDestination, PublishError when the
    destination's publish lock cannot be taken."""
    target = destination_of(destination)
    with _one_publisher(target):
        return _publish_indexes(target, {})


def publish(
    destination: str | None,
    start: date | None = None,
    end: date | None = None,
    *,
    dry_run: bool = False,
) -> PublishOutcome:
    """Publish the stored dates from `start` to `end`, then the indexes, and record the run
    (`PublishRun`, also for a dry run, which writes no object). Raises NoDestination /
    BadDestination, or PublishError when the destination's publish lock cannot be taken,
    before anything is written."""
    target = destination_of(destination)
    started, began = timezone.now(), time.monotonic()
    dates = publishable_dates(start, end)
    with _one_publisher(target):
        outcome, facts = _publish_dates(target, dates, dry_run=dry_run)
        outcome += _publish_indexes(target, facts, dry_run=dry_run)
    PublishRun.objects.create(
        destination=target.url,
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        dates=len(dates),
        dry_run=dry_run,
        objects_written=outcome.written,
        objects_skipped=outcome.skipped,
        bytes_written=outcome.bytes,
        started_at=started,
        duration_seconds=round(time.monotonic() - began, 3),
        errors=list(outcome.errors),
    )
    return outcome
