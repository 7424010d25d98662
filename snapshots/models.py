"""The snapshot index: one row per stored snapshot, mirroring its manifest.

The files under the snapshot root are the data; this table lets lists and filters answer without
walking the disk. The store upserts a row every time it writes a manifest, and
`snapshots_verify --repair` rebuilds rows from the manifests.
"""

from django.db import models


class SnapshotStatus(models.TextChoices):
    # The outcome words of a job (backfill.models.JobStatus): one vocabulary for both.
    COMPLETED = "completed"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"


class Snapshot(models.Model):
    logical_date = models.DateField(unique=True, help_text="The data date the snapshot is for.")
    as_of_date = models.DateField(
        null=True, blank=True, help_text="The dashboard's as-of date (CSV footer)."
    )
    data_month = models.CharField(max_length=7, blank=True, help_text="YYYY-MM")
    is_closing_period = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=SnapshotStatus.choices)
    collection_strategy = models.CharField(max_length=32, blank=True)
    scope = models.JSONField(default=list, blank=True)
    district_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0, help_text="Total size of the district files.")
    # No foreign key: snapshots outlive the jobs that wrote them (jobs are cleaned up).
    job_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-logical_date"]
        indexes = [
            models.Index(fields=["status", "-logical_date"], name="snapshot_status_date_idx"),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.logical_date} ({self.status})"
