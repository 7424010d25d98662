"""Districts seen on the dashboard and the configured scope of collection."""

from django.core.exceptions import ValidationError
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


class ClosingSource(models.TextChoices):
    """Where a month's closing date comes from; later sources win (see `dashboard/closing.py`)."""

    SHIPPED = "shipped"  # districts/data/month-end-closing-dates.json
    DISCOVERED = "discovered"  # found by probing the dashboard
    OPERATOR = "operator"  # entered or corrected by an operator in the admin
    FILE = "file"  # settings.CLOSING_DATES_FILE


class MonthEndClosing(models.Model):
    """A data month's closing date beyond the shipped registry: discovered or operator-entered.

    A row without a closing date records a closing period still open when last probed: the
    site still served the month at `still_closing_on`, so its month end waits.
    """

    data_month = models.DateField(unique=True, help_text="First day of the data month.")
    closing_date = models.DateField(
        null=True,
        blank=True,
        help_text="Last as-of date at which the site served the month; empty while closing.",
    )
    still_closing_on = models.DateField(
        null=True,
        blank=True,
        help_text="Latest as-of date at which the month was seen still served (open period).",
    )
    source = models.CharField(
        max_length=16,
        choices=[(c.value, c.label) for c in (ClosingSource.DISCOVERED, ClosingSource.OPERATOR)],
        default=ClosingSource.OPERATOR,
    )
    discovered_at = models.DateTimeField(null=True, blank=True)
    probes = models.PositiveSmallIntegerField(
        default=0, help_text="Summary requests sent to find it (all probing rounds)."
    )
    note = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-data_month"]
        verbose_name = "month-end closing date"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(data_month__day=1), name="closing_data_month_is_first_day"
            ),
        ]

    def __str__(self) -> str:
        closing = self.closing_date.isoformat() if self.closing_date else "still closing"
        return f"{self.data_month:%Y-%m}: {closing} ({self.source})"

    def clean(self) -> None:
        if self.data_month and self.data_month.day != 1:
            raise ValidationError({"data_month": "Use the first day of the data month."})
        if self.data_month and self.closing_date and self.closing_date < self.data_month:
            raise ValidationError({"closing_date": "A month cannot close before it starts."})
