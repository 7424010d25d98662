"""The index of the analytics documents stored beside the snapshots."""

from __future__ import annotations

from django.db import models


class AnalyticsKind(models.TextChoices):
    DISTRICT_TIME_SERIES = "district-time-series"
    RANKINGS = "rankings"


class AnalyticsOutput(models.Model):
    """The index of the analytics documents beside the snapshots (one row per file), so lists
    and the admin answer without walking the store. The files are the data; a re-run rewrites
    file and row (analytics/services/)."""

    kind = models.CharField(max_length=24, choices=AnalyticsKind.choices)
    # The district of a time series; "" for rankings (every district of a date).
    district_id = models.CharField(max_length=8, blank=True, default="")
    program_year = models.CharField(max_length=9, help_text="2024-2025")
    # The snapshot date of rankings; None for a time series (a whole program year).
    logical_date = models.DateField(null=True, blank=True)
    name = models.CharField(max_length=255, unique=True, help_text="The file in the store.")
    size_bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    snapshot_count = models.PositiveIntegerField(
        default=0, help_text="Snapshot dates (district files) the document was computed from."
    )
    missing_dates = models.JSONField(default=list, blank=True)
    partial_dates = models.JSONField(default=list, blank=True)
    # No foreign key: outputs outlive the jobs that wrote them (jobs are cleaned up).
    job_id = models.UUIDField(null=True, blank=True)
    generated_at = models.DateTimeField()

    class Meta:
        # The table it had as a model of `backfill` (moved without touching the data).
        db_table = "backfill_analyticsoutput"
        ordering = ["kind", "program_year", "district_id", "logical_date"]
        indexes = [
            models.Index(fields=["kind", "district_id", "program_year"], name="analytics_district"),
            models.Index(fields=["kind", "logical_date"], name="analytics_date"),
        ]

    def __str__(self) -> str:
        return self.name
