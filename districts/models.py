"""Districts seen on the dashboard and the configured scope of collection."""

from django.db import models


class District(models.Model):
    """A district id as the dashboard publishes it (canonical: no leading zeros, upper-case)."""

    id = models.CharField(primary_key=True, max_length=8)
    region = models.CharField(max_length=16, blank=True, default="")
    first_seen = models.DateField(null=True, blank=True)
    last_seen = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"District {self.id}"


class DistrictConfiguration(models.Model):
    """One row per district in the configured scope; no rows means every district."""

    district_id = models.CharField(primary_key=True, max_length=8)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["district_id"]
        verbose_name = "configured district"

    def __str__(self) -> str:
        return self.district_id
