"""The admin's New backfill form: the same request contract as the API and the command.

The form only collects the fields; validation is the contract's (`backfill.contracts`) and the
planner's, whose field errors (camelCase, as the API names them) are put back on the form's
fields.
"""

from __future__ import annotations

from typing import Any

from django import forms

from districts import services as district_services
from districts.ids import district_sort_key
from districts.models import District

from .models import JobType, Source
from .services.planning.request import (
    MAX_RATE_LIMIT_DELAY_MS,
    MAX_STORE_CONCURRENCY,
)

# camelCase request field -> form field
FIELD_FOR = {
    "jobType": "job_type",
    "startDate": "start_date",
    "endDate": "end_date",
    "targetDistricts": "target_districts",
    "collectionType": "collection_type",
    "concurrency": "concurrency",
    "retryFailures": "retry_failures",
    "reprocess": "reprocess",
    "skipExisting": "reprocess",
    "rateLimitDelayMs": "rate_limit_delay_ms",
    "enableCaching": "enable_caching",
    "source": "source",
    "updateAnalytics": "update_analytics",
    "collectSummary": "collect_summary",
    "priority": "priority",
    "destination": "destination",
}


def yes_no_field(label: str, help_text: str) -> forms.ChoiceField:
    """A yes/no choice defaulting to yes. A choice, not a checkbox: a page that does not show
    the field posts nothing, which must mean the default (yes), while an unchecked checkbox
    also posts nothing."""
    return forms.ChoiceField(
        choices=[("yes", "yes"), ("no", "no")],
        required=False,
        initial="yes",
        label=label,
        help_text=help_text,
    )


def district_choices() -> list[tuple[str, str]]:
    """The configured scope, or every district the summaries have listed when none is set."""
    ids = set(district_services.configured_districts()) or set(
        District.objects.values_list("id", flat=True)
    )
    return [(d, f"District {d}") for d in sorted(ids, key=district_sort_key)]


class BackfillRequestForm(forms.Form):
    job_type = forms.ChoiceField(choices=JobType.choices, initial=JobType.DATA_COLLECTION)
    start_date = forms.CharField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Required for data collection; analytics without dates covers every stored "
        "snapshot.",
    )
    end_date = forms.CharField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Defaults to the start date.",
    )
    target_districts = forms.CharField(
        required=False,
        label="Districts",
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 42, 61, F", "autocomplete": "off", "size": 40}
        ),
        help_text="Empty: every district of the configured scope. Pick below or type ids.",
    )
    collection_type = forms.ChoiceField(
        choices=[(c, c) for c in ("auto", "system-wide", "per-district")], initial="auto"
    )
    source = forms.ChoiceField(
        choices=[
            (Source.DASHBOARD, "the dashboard: download the exports"),
            (Source.ARCHIVE, "the raw archive: re-normalize the archived CSVs, no request"),
        ],
        initial=Source.DASHBOARD,
        required=False,
        help_text="The archive redoes parsing and normalization of stored dates, e.g. after a "
        "fix to the normalizer.",
    )
    reprocess = forms.ChoiceField(
        choices=[
            ("", "default: missing, or all from the raw archive"),
            ("missing", "missing: only dates not stored yet"),
            ("failed", "failed: only dates whose snapshot is partial or failed"),
            ("all", "all: collect every date again"),
        ],
        initial="",
        required=False,
        help_text="Which dates already stored are collected again.",
    )
    concurrency = forms.IntegerField(
        initial=3, min_value=1, max_value=MAX_STORE_CONCURRENCY
    )  # the contract holds a job that downloads to MAX_CONCURRENCY
    retry_failures = forms.BooleanField(required=False, initial=True)
    rate_limit_delay_ms = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_RATE_LIMIT_DELAY_MS,
        label="Rate-limit delay (ms)",
        help_text="Optional: a longer minimum delay between this job's requests.",
    )
    enable_caching = forms.BooleanField(required=False, initial=True)
    update_analytics = yes_no_field(
        "Update analytics",
        "Data collection: when the job ends, queue an analytics job over the dates it stored.",
    )
    collect_summary = yes_no_field(
        "Collect the summary",
        "Per-district collection: also collect each date's all-districts summary (one request "
        "per date, skipped when stored), from which the date's rankings are made.",
    )
    priority = forms.ChoiceField(
        choices=[
            ("normal", "normal: in the queue, oldest first"),
            ("urgent", "urgent: before normal jobs, like the daily refresh"),
            ("low", "low: after every other job"),
        ],
        initial="normal",
        required=False,
        help_text="Higher priorities take free slots first; a long backfill yields to them.",
    )

    destination = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "file:///srv/cdn", "size": 40}),
        help_text="Publish: where the site's tree is written (file:///dir, s3://bucket/prefix, "
        "gs://bucket/prefix). Empty: PUBLISH_DESTINATION.",
    )
    site_source = forms.CharField(
        required=False,
        max_length=500,
        label="Site source",
        widget=forms.TextInput(attrs={"placeholder": "file:///srv/cdn", "size": 40}),
        help_text="Import: the site's tree to read (file:///dir, s3://bucket/prefix, "
        "gs://bucket/prefix).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.district_choices = district_choices()

    def to_request(self) -> dict[str, Any]:
        """The camelCase request of the cleaned form (call after is_valid())."""
        data = self.cleaned_data
        request = {
            "jobType": data["job_type"],
            "startDate": data["start_date"] or None,
            "endDate": data["end_date"] or data["start_date"] or None,
            "targetDistricts": data["target_districts"].replace(",", " ").split(),
            "collectionType": data["collection_type"],
            "concurrency": data["concurrency"],
            "retryFailures": data["retry_failures"],
            "enableCaching": data["enable_caching"],
            "source": data["source"] or Source.DASHBOARD,
            "updateAnalytics": data.get("update_analytics") != "no",
            "priority": data.get("priority") or "normal",
        }
        if data.get("collect_summary") == "no":
            # Sent only when switched off: the default is right for every job type.
            request["collectSummary"] = False
        if data["reprocess"]:
            request["reprocess"] = data["reprocess"]
        if data["job_type"] == JobType.PUBLISH and data.get("destination"):
            request["destination"] = data["destination"].strip()
        if data["job_type"] == JobType.IMPORT:
            # An import's source is the site's tree, not one of the sources of a collection.
            request["source"] = data.get("site_source", "").strip()
        if data.get("rate_limit_delay_ms") is not None:
            request["rateLimitDelayMs"] = data["rate_limit_delay_ms"]
        return request

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> BackfillRequestForm:
        """A bound form showing a request again (back from the preview)."""
        data: dict[str, Any] = {}
        for name, field in FIELD_FOR.items():
            if request.get(name) is not None and name != "skipExisting":
                data[field] = request[name]
        if request.get("jobType") == JobType.IMPORT:
            data["site_source"] = data.pop("source", "")
        for choice in ("update_analytics", "collect_summary"):
            if choice in data:
                data[choice] = "yes" if data[choice] else "no"
        for flag in ("retry_failures", "enable_caching"):
            if not data.get(flag):
                data.pop(flag, None)
        return cls(data={**data, "target_districts": ", ".join(request.get("targetDistricts", []))})

    def add_request_errors(self, messages_by_field: dict[str, list[str]]) -> None:
        """Put the contract's or the planner's field errors (camelCase keys) on the matching
        form fields; the others above the form."""
        importing = self.data.get("job_type") == JobType.IMPORT
        for name, messages in messages_by_field.items():
            field = "site_source" if importing and name == "source" else FIELD_FOR.get(name)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
