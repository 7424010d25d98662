"""The one input contract of a backfill request, shared by every entry point.

`BackfillRequestSerializer` validates a camelCase backfill request (the seeds' BackfillRequest
plus `jobType` and `reprocess`) and produces the typed `BackfillRequest` the services
take. The API, the legacy routes, the `backfill` command and the admin form all validate with it,
so a request means the same thing wherever it comes from.

Why this module, and not `backfill/api/`: the entry points sit above the services and must not
import each other (a command or the admin form importing `backfill.api` would drag the HTTP layer
into them). This module sits beside them, at the edge of the services: it imports only the
services' types, `districts` and `backfill_project.echo`; nothing in `services`, `selectors` or
`models` imports it.

Rules the serializer promises (each error names its field in camelCase, all at once):
- unknown fields are errors ("Unknown field.");
- dates are `YYYY-MM-DD` only (not the ISO week or basic forms `date.fromisoformat` also takes);
  `endDate` defaults to `startDate`; start <= end; not in the future; not before the first day the
  dashboard serves; at most BACKFILL_MAX_RANGE_DAYS days;
- district ids are JSON strings (`0` is an error, not district "0") of the shape of
  `districts.ids` (canonicalised and deduplicated); ids outside the
  configured scope are excluded by planning, with a warning, and a request left with none is a
  `targetDistricts` error;
- integers and booleans are JSON integers and booleans (no `"3"`, `1` or `"true"`);
- a 400 names only fields the client sent or must send (an error on the last day of a range
  whose `endDate` defaulted to `startDate` names `startDate`), and the errors across fields (a
  missing `startDate`, the order of the dates) come with the fields' own errors, not after them;
- `source` `archive` re-normalizes the archived CSVs (a data-collection job; no request), and
  then `reprocess` defaults to `all`;
- `reprocess` (`missing`, `failed`, `all`) decides which stored dates are collected again. The
  older `skipExisting` maps onto it (true = `missing`, false = `all`); when both are given,
  **`reprocess` wins**, because it is the more precise of the two.
- `updateAnalytics` (default true): a data-collection job queues an analytics-generation job
  over the dates it stored when it ends (unless BACKFILL_FOLLOW_UP_ANALYTICS is off).
- `collectSummary` (default true): a per-district job also collects each date's all-districts
  summary (one request per date, skipped when stored), from which the date's rankings are made;
  `false` is refused (naming it) for analytics-generation, source archive and strategies that
  collect the summary anyway (planning).
- `jobType: analytics-generation` reads the stored snapshots and sends no request: both dates
  are optional (omitted: from the first / to the last stored snapshot; `endDate` still defaults
  to `startDate` when only that is given) and BACKFILL_MAX_RANGE_DAYS does not apply (the job's
  units are bounded by BACKFILL_MAX_JOB_UNITS). The fields that only steer requests to the
  dashboard are **rejected** when given a value other than their default, naming the field:
  `collectionType` (other than `auto`), `rateLimitDelayMs`, `reprocess` other than `missing`
  (and `skipExisting: false`), because an analytics job always regenerates every document of
  its scope. `enableCaching` and `updateAnalytics` are accepted and have no effect there (an
  analytics job makes no request and queues no follow-up).
- `jobType: publish` and `jobType: import` (the district-statistics site's tree, written from
  our snapshots to `destination` or read back from `source`): their rules are in
  `backfill.site_contract`. `destination` is refused for every other job type, and their
  `source` is `dashboard` or `archive`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers
from rest_framework.settings import api_settings

from backfill_project.echo import capped
from backfill_project.fields import StrictDateField
from districts.dashboard.urls import EARLIEST_DATE
from districts.ids import InvalidDistrictId, canonical_district_id

from .limits import LimitSettings
from .models import JobType, RateLimitConfig, Source
from .services.planning.request import (
    COLLECTION_TYPES,
    MAX_CONCURRENCY,
    MAX_RATE_LIMIT_DELAY_MS,
    MAX_STORE_CONCURRENCY,
    REPROCESS_ALL,
    REPROCESS_CHOICES,
    REPROCESS_MISSING,
    REQUEST_PRIORITIES,
    BackfillRequest,
)
from .site_contract import SITE_JOB_TYPES, validate_site_job

MAX_TARGET_DISTRICTS = 500


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: `"3"`, `2.5` and `true` are errors (DRF's IntegerField takes them)."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictStringField(serializers.CharField):
    """A JSON string: `0` and `true` are errors (DRF's CharField turns them into `"0"`)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false` only (DRF's BooleanField takes `"yes"`, `1`, ...)."""

    default_error_messages = {"invalid": "Must be true or false.", "null": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictSerializer(serializers.Serializer):
    """Unknown fields are errors ("Unknown field."), reported together with the field errors."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return values


class BackfillRequestSerializer(StrictSerializer):
    """A backfill request in camelCase; `backfill_request()` gives the typed request."""

    jobType = serializers.ChoiceField(choices=JobType.values, default=JobType.DATA_COLLECTION)
    startDate = StrictDateField(
        required=False,
        allow_null=True,
        help_text="First date, YYYY-MM-DD. Required for data-collection; analytics-generation "
        "without dates covers every stored snapshot.",
    )
    endDate = StrictDateField(
        required=False, allow_null=True, help_text="Last date, YYYY-MM-DD (default: startDate)."
    )
    targetDistricts = serializers.ListField(
        child=StrictStringField(allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
        max_length=MAX_TARGET_DISTRICTS,
        help_text="District ids (42, 02, F); empty or absent: the configured scope.",
    )
    collectionType = serializers.ChoiceField(choices=COLLECTION_TYPES, default="auto")
    concurrency = StrictIntegerField(
        min_value=1,
        max_value=MAX_STORE_CONCURRENCY,
        default=3,
        help_text=f"Units in flight at once: at most {MAX_CONCURRENCY} for a job that "
        f"downloads, {MAX_STORE_CONCURRENCY} for analytics or source archive.",
    )
    retryFailures = StrictBooleanField(default=True)
    skipExisting = StrictBooleanField(
        required=False, help_text="true: reprocess=missing; false: reprocess=all."
    )
    reprocess = serializers.ChoiceField(
        choices=REPROCESS_CHOICES,
        required=False,
        help_text="missing (default): dates not stored yet; failed: only dates whose stored "
        "snapshot is partial_success or failed; all: every date. Wins over skipExisting.",
    )
    rateLimitDelayMs = StrictIntegerField(
        min_value=0, max_value=MAX_RATE_LIMIT_DELAY_MS, required=False, allow_null=True
    )
    enableCaching = StrictBooleanField(default=True)
    source = StrictStringField(
        default=Source.DASHBOARD,
        max_length=500,
        help_text="dashboard (default): download the exports; archive: re-normalize the raw CSVs "
        "archived when they were downloaded, without a request (reprocess then defaults to "
        "all; rateLimitDelayMs and enableCaching do not apply). import: the URL of the site's "
        "tree to read (file:///dir, s3://bucket/prefix, gs://bucket/prefix), required.",
    )
    destination = StrictStringField(
        required=False,
        max_length=500,
        help_text="publish only: where the site's tree is written (file:///dir, "
        "s3://bucket/prefix, gs://bucket/prefix); default PUBLISH_DESTINATION.",
    )
    updateAnalytics = StrictBooleanField(
        default=True,
        help_text="data-collection: when the job ends, queue an analytics-generation job over "
        "the dates it stored (the time series never lag the snapshots). No effect on an "
        "analytics-generation job.",
    )
    collectSummary = StrictBooleanField(
        default=True,
        help_text="per-district data collection: also collect each date's all-districts summary "
        "(one request per date, skipped when stored), from which the date's rankings are made. "
        "false is refused where no per-district request is sent.",
    )
    priority = serializers.ChoiceField(
        choices=REQUEST_PRIORITIES,
        default="normal",
        help_text="urgent: served before normal jobs, like the scheduled daily refresh; low: "
        "after every other job.",
    )

    def validate_targetDistricts(self, value: list[str] | None) -> list[str]:
        targets, errors = [], []
        for raw in value or []:
            try:
                targets.append(canonical_district_id(raw))
            except InvalidDistrictId as exc:
                errors.append(str(exc))
        if errors:
            raise serializers.ValidationError(errors)
        return list(dict.fromkeys(targets))

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Field errors and the errors across fields of one request, reported together: a bad
        field does not hide that the dates are out of order or that startDate is missing."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, Mapping) or not isinstance(data, Mapping):
                raise
            errors = dict(exc.detail)
            for name, messages in self._cross_field_errors(data).items():
                errors.setdefault(name, messages)
            raise serializers.ValidationError(errors) from None

    def _cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """The date errors `validate` would report, from the fields that are valid on their
        own (a field with an error of its own adds nothing here)."""
        valid: dict[str, Any] = {}
        for name in ("jobType", "startDate", "endDate"):
            try:
                value = self.fields[name].run_validation(data.get(name, serializers.empty))
            except (serializers.ValidationError, serializers.SkipField):
                continue
            valid[name] = value
        if "jobType" not in valid:
            return {}
        start, end = valid.get("startDate"), valid.get("endDate")
        if valid["jobType"] == JobType.DATA_COLLECTION and data.get("startDate") is None:
            return {"startDate": ["This field is required for a data-collection job."]}
        if ("startDate" in data and "startDate" not in valid) or (
            "endDate" in data and "endDate" not in valid
        ):
            return {}
        return self._date_errors(start, end or start, end_given=end is not None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["jobType"] == JobType.ANALYTICS_GENERATION:
            return self._validate_analytics(attrs)
        if attrs["jobType"] in SITE_JOB_TYPES:
            if errors := validate_site_job(attrs, self._date_errors):
                raise serializers.ValidationError(errors)
            return attrs
        start = attrs.get("startDate")
        if start is None:
            raise serializers.ValidationError(
                {"startDate": ["This field is required for a data-collection job."]}
            )
        end = attrs.get("endDate") or start
        errors = self._date_errors(start, end, end_given=attrs.get("endDate") is not None)
        attrs["endDate"] = end
        errors.update(_not_site_errors(attrs))
        if attrs["source"] == Source.DASHBOARD and attrs["concurrency"] > MAX_CONCURRENCY:
            errors["concurrency"] = [
                f"At most {MAX_CONCURRENCY} for a job that downloads from the dashboard "
                f"({MAX_STORE_CONCURRENCY} re-normalizing from the archive)."
            ]
        if attrs["source"] == Source.ARCHIVE and not attrs["collectSummary"]:
            errors["collectSummary"] = [
                "Not with source archive: re-normalizing sends no request, so there is no "
                "summary to collect."
            ]
        max_days = settings.BACKFILL_MAX_RANGE_DAYS
        if (end - start).days + 1 > max_days:
            errors.setdefault("endDate", []).append(
                f"The range covers more than {max_days} days; split the job."
            )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _validate_analytics(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("startDate")
        end = attrs.get("endDate") or start
        errors = self._date_errors(start, end, end_given=attrs.get("endDate") is not None)
        attrs["endDate"] = end
        refused = "analytics-generation reads the stored snapshots and sends no request"
        if attrs["collectionType"] != "auto":
            errors["collectionType"] = [f"Not for analytics-generation: {refused}."]
        if attrs.get("rateLimitDelayMs") is not None:
            errors["rateLimitDelayMs"] = [f"Not for analytics-generation: {refused}."]
        if attrs.get("reprocess", REPROCESS_MISSING) != REPROCESS_MISSING:
            errors["reprocess"] = [
                "Not for analytics-generation: it always regenerates every document of its "
                "scope from the stored snapshots."
            ]
        errors.update(_not_site_errors(attrs))
        if attrs["source"] == Source.ARCHIVE:
            errors["source"] = [
                "Not for analytics-generation: source archive re-normalizes archived CSVs in a "
                "data-collection job."
            ]
        if not attrs["collectSummary"]:
            errors["collectSummary"] = [f"Not for analytics-generation: {refused}."]
        if attrs.get("skipExisting") is False:
            errors["skipExisting"] = [
                "Not for analytics-generation: it always regenerates every document of its "
                "scope from the stored snapshots."
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _date_errors(
        self, start: date | None, end: date | None, *, end_given: bool
    ) -> dict[str, list[str]]:
        """Errors on the range; those on its last day name endDate when the client sent it and
        startDate when endDate defaulted to it (a 400 names only fields the client sent)."""
        errors: dict[str, list[str]] = {}
        today = timezone.localdate()
        if start is not None and end is not None and start > end:
            errors.setdefault("endDate", []).append(f"endDate {end} is before startDate {start}.")
        if end is None:
            return errors
        name = "endDate" if end_given else "startDate"
        if end > today:
            errors.setdefault(name, []).append(f"{name} {end} is in the future (today is {today}).")
        if end < EARLIEST_DATE:
            # A range that starts earlier but reaches the data plans its early dates as
            # unavailable ("before the data starts"); one entirely before it is a mistake.
            errors.setdefault(name, []).append(
                f"{name} {end} is before {EARLIEST_DATE}, the first day the dashboard "
                "serves (program year 2008-2009)."
            )
        return errors

    def backfill_request(self) -> BackfillRequest:
        """The typed request (call after `is_valid()`)."""
        data = self.validated_data
        reprocess = data.get("reprocess")
        if reprocess is None:
            # Re-normalizing is for dates already stored: from the archive, all by default.
            skip = data.get("skipExisting", data["source"] != Source.ARCHIVE)
            reprocess = REPROCESS_MISSING if skip else REPROCESS_ALL
        return BackfillRequest(
            start_date=data.get("startDate"),
            end_date=data.get("endDate"),
            target_districts=tuple(data.get("targetDistricts") or ()),
            collection_type=data["collectionType"],
            job_type=data["jobType"],
            concurrency=data["concurrency"],
            retry_failures=data["retryFailures"],
            reprocess=reprocess,
            rate_limit_delay_ms=data.get("rateLimitDelayMs"),
            enable_caching=data["enableCaching"],
            source=data["source"],
            update_analytics=data["updateAnalytics"],
            collect_summary=data["collectSummary"],
            priority=data["priority"],
            destination=data.get("destination", ""),
        )


def _not_site_errors(attrs: dict[str, Any]) -> dict[str, list[str]]:
    """A data-collection or analytics request names no site: `source` is one of ours and
    there is no `destination`."""
    errors: dict[str, list[str]] = {}
    if attrs["source"] not in Source.values:
        choices = ", ".join(Source.values)
        errors["source"] = [
            f"{attrs['source']!r} is not one of {choices} (a site's URL is the source of "
            "an import job)."
        ]
    if attrs.get("destination"):
        errors["destination"] = ["Only for publish."]
    return errors


def backfill_request(data: Any) -> BackfillRequest:
    """Validate `data` (a camelCase mapping) into a typed request.

    Raises rest_framework.exceptions.ValidationError whose detail maps each bad field to its
    messages.
    """
    serializer = BackfillRequestSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.backfill_request()


def error_messages(exc: serializers.ValidationError) -> dict[str, list[str]]:
    """field -> plain messages of a ValidationError raised by this contract (for commands and
    forms, which print rather than serialize), echoed values cut to 64 characters as the API
    cuts them."""
    detail = exc.detail
    if isinstance(detail, Mapping):
        messages = {name: [str(m) for m in _flat(found)] for name, found in detail.items()}
    else:
        messages = {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in _flat(detail)]}
    return capped(messages)


def _flat(messages: Any) -> list[Any]:
    if isinstance(messages, Mapping):
        return [m for value in messages.values() for m in _flat(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _flat(value)]
    return [messages]


class RateLimitConfigSerializer(StrictSerializer):
    """The rate-limit configuration in camelCase, with the bounds that keep an operator from
    setting the dashboard on fire: every number positive (the minimum delay may be 0), the
    minimum delay not above the maximum, and at most BACKFILL_MAX_REQUESTS_PER_MINUTE requests
    per minute (maxRequests scaled to a 60 s window). `partial=True` validates a PATCH against the
    current values. `limit_settings()` gives the typed settings."""

    maxRequests = StrictIntegerField(min_value=1, max_value=100_000)
    windowMs = StrictIntegerField(min_value=1_000, max_value=3_600_000)
    minDelayMs = StrictIntegerField(min_value=0, max_value=600_000)
    maxDelayMs = StrictIntegerField(min_value=1, max_value=3_600_000)
    backoffMultiplier = serializers.FloatField(min_value=1.0, max_value=10.0)
    maxConcurrent = StrictIntegerField(min_value=1, max_value=50)

    FIELD_FOR = {
        "maxRequests": "max_requests",
        "windowMs": "window_ms",
        "minDelayMs": "min_delay_ms",
        "maxDelayMs": "max_delay_ms",
        "backoffMultiplier": "backoff_multiplier",
        "maxConcurrent": "max_concurrent",
    }

    def __init__(self, *args: Any, current: Any = None, **kwargs: Any) -> None:
        """`current`: the configuration a partial update starts from (a LimitSettings)."""
        super().__init__(*args, **kwargs)
        self.current = current

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The bounds across fields are the model's (`RateLimitConfig.clean`, which the admin
        uses too), reported under the camelCase names."""
        merged = {
            camel: attrs.get(camel, getattr(self.current, snake, None))
            for camel, snake in self.FIELD_FOR.items()
        }
        config = RateLimitConfig(
            **{snake: merged[camel] for camel, snake in self.FIELD_FOR.items()}
        )
        try:
            config.clean()
        except DjangoValidationError as exc:
            camel_for = {snake: camel for camel, snake in self.FIELD_FOR.items()}
            raise serializers.ValidationError(
                {camel_for.get(name, name): messages for name, messages in exc.message_dict.items()}
            ) from None
        return merged

    def limit_settings(self) -> LimitSettings:
        """The validated configuration as `backfill.limits.LimitSettings`."""
        return LimitSettings(
            **{snake: self.validated_data[camel] for camel, snake in self.FIELD_FOR.items()}
        )
