"""Jobs, units and the rate-limit configuration: the database is the source of truth."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class JobType(models.TextChoices):
    DATA_COLLECTION = "data-collection"
    ANALYTICS_GENERATION = "analytics-generation"
    # The toast-stats site's file tree written from our snapshots (website/), and its history
    # read back into our store (0 dashboard requests).
    PUBLISH = "publish"
    IMPORT = "import"


# Job types that never send a request to the dashboard.
STORE_BOUND_JOB_TYPES = (JobType.ANALYTICS_GENERATION, JobType.PUBLISH, JobType.IMPORT)


class JobStatus(models.TextChoices):
    PENDING = "pending"  # waiting in the queue for a free slot
    RUNNING = "running"
    # Dispatch stopped by an operator; in-flight units finish, the rest wait for resume. Not
    # active (the queue behind it may start) and not terminal (it keeps its units and place).
    PAUSED = "paused"
    RECOVERING = "recovering"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.RUNNING, JobStatus.CANCELLING)
TERMINAL_JOB_STATUSES = (
    JobStatus.COMPLETED,
    JobStatus.PARTIAL_SUCCESS,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


# Active jobs in the order dispatch serves them: highest priority first, then oldest first.
JOB_DISPATCH_ORDER = (
    models.F("priority").desc(),
    models.F("started_at").asc(nulls_last=True),
    "created_at",
)


class CollectionStrategy(models.TextChoices):
    """How a job collects (DOMAIN.md section 8); the request's `collectionType` asks for one.
    An analytics-generation job collects nothing from the dashboard: it reads the stored
    snapshots (`analytics`); a publish job writes them as the site's file tree (`publish`), an
    import job reads such a tree back into the store (`import`)."""

    SYSTEM_WIDE = "system-wide"
    PER_DISTRICT = "per-district"
    TARGETED = "targeted"
    ANALYTICS = "analytics"
    PUBLISH = "publish"
    IMPORT = "import"


class Source(models.TextChoices):
    """Where a data-collection job reads its exports: the dashboard, or the raw CSVs archived
    when they were downloaded (re-normalization: no request)."""

    DASHBOARD = "dashboard"
    ARCHIVE = "archive"


class CreatedVia(models.TextChoices):
    ADMIN = "admin"
    API = "api"
    LEGACY_API = "legacy-api"
    BEAT = "beat"
    CLI = "cli"


class JobPriority(models.IntegerChoices):
    """Which job dispatch serves first (higher first; FIFO within one priority).

    `daily` is the scheduled refresh of current data (beat's gap fill); `urgent` is a job an
    operator marks so (API, form, command); `normal` is every other job; `low` is for work that
    may always wait (audits of what is stored). Jobs above `normal` are *priority jobs*: they
    may use the share of each rate-limit window reserved for them
    (`BACKFILL_PRIORITY_RESERVED_SHARE`), and their waiting requests go before the others'.
    """

    LOW = 0, "low"
    NORMAL = 10, "normal"
    DAILY = 20, "daily"
    URGENT = 30, "urgent"

    @classmethod
    def from_label(cls, label: str) -> JobPriority:
        """The priority named `label` ("urgent"). Raises ValueError for an unknown label."""
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"unknown priority {label!r}")


class RunKind(models.TextChoices):
    """What a data-collection job is for (seed 003, requirement 11.4): the daily refresh of
    current data, or a backfill of history. They never collect the same date at once
    (`backfill/services/dispatch.py`, "Dates")."""

    DAILY_REFRESH = "daily-refresh"
    BACKFILL = "backfill"


class BackfillJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_type = models.CharField(
        max_length=32, choices=JobType.choices, default=JobType.DATA_COLLECTION
    )
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    request = models.JSONField(help_text="The request as given (camelCase).")
    start_date = models.DateField()
    end_date = models.DateField()
    scope = models.JSONField(
        default=dict,
        help_text=(
            "targetDistricts, configuredDistricts, excludedDistricts, scopeType "
            "(system-wide, targeted, single-district), warnings."
        ),
    )
    collection_strategy = models.CharField(max_length=16, choices=CollectionStrategy.choices)
    strategy_rationale = models.TextField(blank=True)
    estimated_efficiency = models.FloatField(default=0.0)
    concurrency = models.PositiveSmallIntegerField(default=3)
    retry_failures = models.BooleanField(default=True)
    skip_existing = models.BooleanField(default=True)
    enable_caching = models.BooleanField(default=True)
    rate_limit_delay_ms = models.PositiveIntegerField(null=True, blank=True)
    total_units = models.PositiveIntegerField(default=0)
    succeeded_units = models.PositiveIntegerField(default=0)
    skipped_units = models.PositiveIntegerField(default=0)
    unavailable_units = models.PositiveIntegerField(default=0)
    failed_units = models.PositiveIntegerField(default=0)
    cancelled_units = models.PositiveIntegerField(default=0)
    # Month ends whose closing period was still open: collected later (see UnitStatus.WAITING).
    waiting_units = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_via = models.CharField(max_length=16, choices=CreatedVia.choices)
    priority = models.PositiveSmallIntegerField(
        choices=JobPriority.choices, default=JobPriority.NORMAL
    )
    run_kind = models.CharField(max_length=16, choices=RunKind.choices, default=RunKind.BACKFILL)
    error_summary = models.JSONField(default=dict, blank=True)
    recovery_count = models.PositiveSmallIntegerField(default=0)
    # The data-collection job whose stored dates this analytics-generation job updates.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # What scheduled the job, once (beat's gap fill: `daily-refresh:2026-12-05`): unique, so
    # that beat firing twice, or two beats, queue one job. None for every other job.
    schedule_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        # What the admin and the API check (besides view_backfilljob to read): starting a job
        # needs add_backfilljob and run_backfill; its actions (cancel, pause, resume, retry)
        # change_backfilljob and control_backfill. The groups of migration 0013 hold them.
        permissions = [
            ("run_backfill", "Can start backfill jobs"),
            ("control_backfill", "Can cancel, pause, resume and retry backfill jobs"),
        ]

    def __str__(self) -> str:
        return f"{self.job_type} {self.start_date}..{self.end_date} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def priority_label(self) -> str:
        """The priority's name: `urgent`, `daily`, `normal` or `low`."""
        return JobPriority(self.priority).label

    @property
    def is_priority(self) -> bool:
        """Served before normal jobs, with the reserved share of the rate-limit window."""
        return self.priority > JobPriority.NORMAL

    @property
    def source(self) -> str:
        return self.request.get("source") or Source.DASHBOARD

    @property
    def is_store_bound(self) -> bool:
        """Works on the snapshot store only (analytics, re-normalizing the archive, publishing
        the site's tree, importing one): no request to the dashboard, so its units take slots
        of their own (BACKFILL_STORE_MAX_CONCURRENT)."""
        return self.job_type in STORE_BOUND_JOB_TYPES or self.source == Source.ARCHIVE

    @property
    def finished_units(self) -> int:
        """Units that ended, whatever their outcome (from the counters, not the units)."""
        return (
            self.succeeded_units
            + self.skipped_units
            + self.unavailable_units
            + self.waiting_units
            + self.failed_units
            + self.cancelled_units
        )


class UnitStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # A month end whose month is still closing on the dashboard: nothing is stored (that day's
    # data is not the month's final state); the daily gap fill collects it once it has closed.
    WAITING = "waiting"


class BackfillUnit(models.Model):
    """One (date, district) of a per-district job, or one date of a summary job: the checkpoint."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(BackfillJob, on_delete=models.CASCADE, related_name="units")
    logical_date = models.DateField()
    # A district's canonical id, or ALL_DISTRICTS ("*") for a summary unit covering every one.
    district_id = models.CharField(max_length=8)
    status = models.CharField(max_length=12, choices=UnitStatus.choices, default=UnitStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_type = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    retryable = models.BooleanField(null=True)
    requests_made = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The lease of a running unit (backfill/services/units.py "Leases"). A dispatch draws a new
    # token; only a message carrying it may claim the unit, and only its holder may end it.
    lease_token = models.CharField(max_length=32, blank=True, default="")
    # The Celery worker (hostname) and pool process holding the unit; empty while the unit's
    # message waits in the broker.
    lease_owner = models.CharField(max_length=255, blank=True, default="")
    lease_pid = models.PositiveIntegerField(null=True, blank=True)
    # Renewed while the unit runs; past it, the unit is re-dispatched.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "logical_date", "district_id"], name="unique_unit_per_job"
            )
        ]
        indexes = [
            # Claiming the next pending units and counting per status stay index-only scans.
            models.Index(fields=["job", "status", "logical_date"], name="unit_job_status_date"),
            models.Index(fields=["job", "district_id", "status"], name="unit_job_district_status"),
            # The running units (leases to renew, to claim, to end, to take back once
            # expired), found by their keys. Partial and without the lease's expiry: renewing a
            # lease changes no indexed column, and a status index full of the dead entries of
            # ended units is never what the planner reads them through.
            models.Index(
                fields=["id"], name="unit_running", condition=models.Q(status=UnitStatus.RUNNING)
            ),
            # What other jobs did on a (date, district): a unit starting looks it up.
            models.Index(fields=["logical_date", "district_id"], name="unit_date_district"),
            # The ETA counts the unavailable units that ran (the polled status): a job's planned
            # unavailable dates (closing periods) never start, so this index stays small.
            models.Index(
                fields=["job"],
                name="unit_job_ran_unavailable",
                condition=models.Q(status=UnitStatus.UNAVAILABLE, started_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.logical_date} {self.district_id} ({self.status})"


class IdempotencyKey(models.Model):
    """A job creation that must happen once: an API client's `Idempotency-Key` header, or the
    one-time token of the admin's Start button, per user. The row is inserted in the
    transaction that creates the job, so a concurrent request with the same key waits on the
    unique constraint and then finds the first job (backfill/services/idempotency.py)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of the entry point and the request body: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(
        BackfillJob, null=True, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.job_id}"


class SnapshotAssembly(models.Model):
    """A date whose last unit of a job has ended and whose snapshot (manifest) is still to be
    assembled from the files: written in the transaction that ends that unit, deleted once the
    manifest is written. Assembly itself runs after that transaction, holding no database lock
    (backfill/services/assembly.py); a row left behind by a process that died is picked
    up by `reclaim_lost_units`. A job does not finish while it has one."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(BackfillJob, on_delete=models.CASCADE, related_name="assemblies")
    logical_date = models.DateField()
    created_at = models.DateTimeField()
    # Held by the process assembling it until then; None while nobody is.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "logical_date"], name="unique_assembly")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.logical_date}"


class UnitCount(models.Model):
    """How many of a job's units are in each status, per district: the per-district progress
    without scanning the units (the status endpoint is polled).

    Maintained on PostgreSQL by statement-level triggers on the unit table (migration 0007), so
    every writer (COPY, bulk updates, the ORM) keeps it exact without knowing it exists. Other
    databases have no rows here; the selectors count the units instead.
    """

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(BackfillJob, on_delete=models.CASCADE, related_name="unit_counts")
    district_id = models.CharField(max_length=8)
    status = models.CharField(max_length=12)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "district_id", "status"], name="unique_unit_count"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.district_id} {self.status}: {self.count}"


class AuditOutcome(models.TextChoices):
    MATCH = "match"  # the re-fetched data normalizes to the bytes the manifest recorded
    DRIFT = "drift"  # it does not: the dashboard (or the normalizer) changed since
    ERROR = "error"  # the re-fetch failed; nothing was compared


class SnapshotAudit(models.Model):
    """One check of one stored (date, district): re-fetched from the dashboard, normalized and
    compared with the content hash its manifest recorded when the file was written
    (backfill/services/audits.py). Drift is recorded, never written over the stored file."""

    id = models.BigAutoField(primary_key=True)
    logical_date = models.DateField()
    district_id = models.CharField(max_length=8)
    detail = models.CharField(max_length=8, help_text="summary or full, as stored")
    outcome = models.CharField(max_length=8, choices=AuditOutcome.choices, db_index=True)
    recorded_sha256 = models.CharField(max_length=64, help_text="The manifest's, at write time.")
    fetched_sha256 = models.CharField(max_length=64, blank=True, default="")
    # Paths of the values that differ (`membership.active_members`, `club_details[3].status`),
    # at most AUDIT_MAX_DIFFERENCES.
    differences = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True, default="")
    requests_made = models.PositiveSmallIntegerField(default=0)
    checked_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["logical_date", "district_id"], name="audit_date_district")]

    def __str__(self) -> str:
        return f"audit {self.logical_date} district {self.district_id}: {self.outcome}"


class RateLimitConfig(models.Model):
    """The one global rate-limit configuration; workers pick up changes within seconds."""

    max_requests = models.PositiveIntegerField(default=10)
    window_ms = models.PositiveIntegerField(default=60_000)
    min_delay_ms = models.PositiveIntegerField(default=2_000)
    max_delay_ms = models.PositiveIntegerField(default=30_000)
    backoff_multiplier = models.FloatField(default=2.0)
    max_concurrent = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rate-limit configuration"
        # Editing it (admin or API) needs change_ratelimitconfig and edit_rate_limit.
        permissions = [("edit_rate_limit", "Can edit the rate-limit configuration")]

    def __str__(self) -> str:
        return f"{self.max_requests} per {self.window_ms} ms, min {self.min_delay_ms} ms"

    def clean(self) -> None:
        """Refuse a configuration that could hurt the dashboard or stall every worker: each
        number in its range, the minimum delay no longer than the maximum, and no more than
        `BACKFILL_MAX_REQUESTS_PER_MINUTE` requests per minute. Raises ValidationError naming
        the fields."""
        errors: dict[str, str] = {}
        if self.max_requests < 1:
            errors["max_requests"] = "At least 1 request per window."
        if self.window_ms < 1_000:
            errors["window_ms"] = "The window is at least 1,000 ms."
        if self.max_delay_ms < self.min_delay_ms:
            errors["min_delay_ms"] = (
                f"The minimum delay ({self.min_delay_ms} ms) is above the maximum delay "
                f"({self.max_delay_ms} ms)."
            )
        if not 1.0 <= self.backoff_multiplier <= 10.0:
            errors["backoff_multiplier"] = "Between 1 and 10."
        if not 1 <= self.max_concurrent <= 50:
            errors["max_concurrent"] = "Between 1 and 50 units at a time."
        ceiling = settings.BACKFILL_MAX_REQUESTS_PER_MINUTE
        if "max_requests" not in errors and "window_ms" not in errors:
            per_minute = self.max_requests * 60_000 / self.window_ms
            by_delay = 60_000 / self.min_delay_ms if self.min_delay_ms else float("inf")
            if min(per_minute, by_delay) > ceiling:
                errors["max_requests"] = (
                    f"{min(per_minute, by_delay):g} requests per minute is more than the "
                    f"{ceiling} the dashboard is asked to bear (BACKFILL_MAX_REQUESTS_PER_MINUTE)."
                )
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> RateLimitConfig:
        config, _ = cls.objects.get_or_create(pk=1)
        return config


class PublishStep(models.Model):
    """One step of a publish job, as the admin's publish history shows it: a date's files
    (`logical_date`) or the indexes written last (`logical_date` None: `v1/latest.json`, the
    `v1/` and `config/` indexes). One row per run of the step (a retried date has several).
    `website.models.PublishRun` records the runs of `manage.py publish_site`, which has no job;
    the admin lists both in one history (`PublishHistoryEntry`)."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(BackfillJob, on_delete=models.CASCADE, related_name="publish_steps")
    logical_date = models.DateField(null=True, blank=True)
    destination = models.CharField(max_length=500)
    written = models.PositiveIntegerField(default=0, help_text="Objects written (changed).")
    skipped = models.PositiveIntegerField(default=0, help_text="Objects unchanged, not written.")
    bytes = models.BigIntegerField(default=0, help_text="Bytes written.")
    # The paths written, relative to the destination.
    paths = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "started_at"], name="publish_step_job")]

    def __str__(self) -> str:
        what = self.logical_date or "indexes"
        return f"publish {what} to {self.destination}: {self.written} written"


# Django loads an app's models from this module; the publish history's view lives apart.
from .publish_history import PublishHistoryEntry  # noqa: E402, F401
