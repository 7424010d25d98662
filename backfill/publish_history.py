"""The admin's one publish history: a read-only model over the database view that joins the
publish jobs' steps and the runs of `manage.py publish_site` (listed by `publish_admin`)."""

from __future__ import annotations

from django.db import models


class PublishHistoryEntry(models.Model):
    """One row of the admin's single publish history: a step of a publish job (`job` set: a
    date's files, or the indexes) or a run of `manage.py publish_site` (`job` None: its dates,
    then the indexes). Read-only, over the database view `backfill_publish_history` (migration
    0019) that joins `PublishStep` and `website.PublishRun`, so that each keeps its writer and
    the lower `website` app knows nothing of jobs."""

    id = models.CharField(primary_key=True, max_length=32)  # "step-<id>" or "run-<id>"
    job = models.ForeignKey(
        "backfill.BackfillJob",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    first_date = models.DateField(null=True)
    last_date = models.DateField(null=True)
    dates = models.PositiveIntegerField(help_text="Dates published (0 for the indexes).")
    indexes = models.BooleanField(help_text="The indexes were published.")
    dry_run = models.BooleanField()
    destination = models.CharField(max_length=500)
    written = models.PositiveIntegerField(help_text="Objects written (changed).")
    skipped = models.PositiveIntegerField(help_text="Objects unchanged, not written.")
    bytes = models.BigIntegerField(help_text="Bytes written.")
    errors = models.JSONField()
    started_at = models.DateTimeField()
    duration_ms = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "backfill_publish_history"
        ordering = ["-started_at", "-id"]
        verbose_name = "publish history entry"
        verbose_name_plural = "publish history"

    def __str__(self) -> str:
        by = f"job {self.job_id}" if self.job_id else "publish_site"
        return f"publish to {self.destination} by {by}: {self.written} written"
