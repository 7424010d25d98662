"""The request type of every job: `BackfillRequest`, a request that `backfill.contracts` has
validated, with its defaults applied, and the bounds and choices the contract checks it
against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...models import JobType, Source

COLLECTION_TYPES = ("auto", "system-wide", "per-district")
# Which stored dates a job collects again: `missing` (what is not stored yet), `failed` (only
# dates whose stored snapshot is partial_success or failed) or `all` (everything).
REPROCESS_MISSING = "missing"
REPROCESS_FAILED = "failed"
REPROCESS_ALL = "all"
REPROCESS_CHOICES = (REPROCESS_MISSING, REPROCESS_FAILED, REPROCESS_ALL)
# The priorities a request may ask for (`JobPriority` labels); `daily` is the scheduled refresh's
# own (beat's gap fill), so that "daily" always means the refresh of current data.
REQUEST_PRIORITIES = ("low", "normal", "urgent")
MAX_CONCURRENCY = 10  # units in flight of one job that downloads from the dashboard
MAX_STORE_CONCURRENCY = 32  # ... of one job that only reads and writes the store
MAX_RATE_LIMIT_DELAY_MS = 60_000


@dataclass(frozen=True)
class BackfillRequest:
    """A validated request (the seeds' BackfillRequest), with defaults applied."""

    # None only for the job types that read a store (analytics-generation, publish, import):
    # from the first / to the last date it holds.
    start_date: date | None
    end_date: date | None
    target_districts: tuple[str, ...] = ()
    collection_type: str = "auto"
    job_type: str = JobType.DATA_COLLECTION
    concurrency: int = 3
    retry_failures: bool = True
    reprocess: str = REPROCESS_MISSING
    rate_limit_delay_ms: int | None = None
    enable_caching: bool = True
    # Source.ARCHIVE: re-normalize the archived CSVs, no request (data-collection only). An
    # import job's `source` is the URL of the site's tree it reads (`file://`, `s3://`, `gs://`).
    source: str = Source.DASHBOARD
    # A `JobPriority` label: dispatch serves higher priorities first.
    priority: str = "normal"

    @property
    def from_archive(self) -> bool:
        return self.source == Source.ARCHIVE

    # Data collection: queue an analytics-generation job over what the job stored when it ends
    # (and BACKFILL_FOLLOW_UP_ANALYTICS is on).
    update_analytics: bool = True
    # Per-district collection: also collect each date's all-districts summary (the rankings').
    collect_summary: bool = True
    # Publish: where the site's tree is written (PUBLISH_DESTINATION by default).
    destination: str = ""

    @property
    def skip_existing(self) -> bool:
        """The seeds' `skipExisting`: stored data is skipped unless everything is reprocessed."""
        return self.reprocess != REPROCESS_ALL

    def as_json(self) -> dict[str, Any]:
        return {
            "jobType": self.job_type,
            "startDate": self.start_date.isoformat() if self.start_date else None,
            "endDate": self.end_date.isoformat() if self.end_date else None,
            "targetDistricts": list(self.target_districts),
            "collectionType": self.collection_type,
            "concurrency": self.concurrency,
            "retryFailures": self.retry_failures,
            "skipExisting": self.skip_existing,
            "reprocess": self.reprocess,
            "rateLimitDelayMs": self.rate_limit_delay_ms,
            "enableCaching": self.enable_caching,
            "source": self.source,
            "updateAnalytics": self.update_analytics,
            "collectSummary": self.collect_summary,
            "priority": self.priority,
            **({"destination": self.destination} if self.destination else {}),
        }
