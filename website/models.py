"""What has been published where: the hash of every object at every destination (so a publish
writes only what changed), and the history of publish runs (shown in the admin)."""

from __future__ import annotations

from django.db import models


class PublishedObject(models.Model):
    """One file of the site as last written to one destination."""

    destination = models.CharField(max_length=500)
    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    bytes = models.BigIntegerField()
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "path"], name="website_published_object_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.destination}/{self.path}"


class PublishedDate(models.Model):
    """One date as last published to one destination: the hash of what its files were built
    from and how many they were, so an unchanged date is skipped without being rebuilt."""

    destination = models.CharField(max_length=500)
    date = models.DateField()
    source_sha256 = models.CharField(max_length=64)
    files = models.PositiveIntegerField()
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "date"], name="website_published_date_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.destination} {self.date}"


class PublishRun(models.Model):
    """One publish of dates and indexes to a destination: what it wrote and what went wrong."""

    destination = models.CharField(max_length=500)
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    dates = models.PositiveIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    objects_written = models.PositiveIntegerField(default=0)
    objects_skipped = models.PositiveIntegerField(default=0)
    bytes_written = models.BigIntegerField(default=0)
    started_at = models.DateTimeField()
    duration_seconds = models.FloatField(default=0.0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"publish to {self.destination} at {self.started_at:%Y-%m-%d %H:%M}"
