"""The rules of the backfill request contract (`backfill.contracts`) for the two job types of the
district-statistics site: `publish` (our snapshots written as the site's file tree) and
`import` (such a tree read back into our store). Neither sends a request to the dashboard.

- Both dates are optional: omitted, from the first / to the last date there is (stored
  snapshots for publish, the tree's snapshot dates for import); `endDate` still defaults to
  `startDate`, and BACKFILL_MAX_RANGE_DAYS does not apply (units are bounded by
  BACKFILL_MAX_JOB_UNITS).
- `destination` (publish only): where the tree is written, `file:///srv/cdn`,
  `s3://bucket/prefix` or `gs://bucket/prefix`; default PUBLISH_DESTINATION, a 400 naming it
  when neither is set.
- `source` (import): the URL of the tree to read, in the same forms (or an absolute
  directory); required. For the other
  job types `source` stays `dashboard` or `archive`.
- Refused, naming the field, because they steer requests to the dashboard or pick districts:
  `collectionType` other than `auto`, `rateLimitDelayMs`, `reprocess` other than `missing`,
  `skipExisting: false`, `collectSummary: false` and `targetDistricts` (the site's rankings and
  indexes cover every district, and a tree is imported whole).

Kept beside `contracts.py` (which stays under the module size) and imported only by it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from .models import JobType, Source
from .services.planning.request import REPROCESS_MISSING

SITE_JOB_TYPES = (JobType.PUBLISH, JobType.IMPORT)
LOCATION_SCHEMES = ("file", "s3", "gs")
LOCATION_FORMS = "file:///path/to/dir, s3://bucket/prefix or gs://bucket/prefix"

DateErrors = Callable[..., dict[str, list[str]]]


def location_error(value: str, *, bare_path: bool = True) -> str | None:
    """Why `value` is not where a site's tree lives (None when it is): a URL of scheme file (an
    absolute directory, no host; with `bare_path`, an absolute path is one too), s3 or gs (a
    bucket, no query). The same forms as `website.destinations` and `website.sources`, checked
    without opening anything: the tree is read when the job is planned, written when it runs."""
    if bare_path and value.startswith("/"):
        return None
    parts = urlsplit(value)
    if parts.scheme not in LOCATION_SCHEMES:
        return f"{value!r} is not a location of the site's tree: {LOCATION_FORMS}."
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return f"{value!r}: a file URL names an absolute directory (file:///srv/cdn)."
        return None
    if not parts.netloc or parts.query or parts.fragment:
        return f"{value!r}: expected {parts.scheme}://bucket/prefix."
    return None


def validate_site_job(attrs: dict[str, Any], date_errors: DateErrors) -> dict[str, list[str]]:
    """The errors of a publish or import request (`attrs` as the serializer validated its
    fields; `date_errors` is the serializer's check of the range). Sets the defaults: `endDate`
    and a publish job's `destination`."""
    job_type = attrs["jobType"]
    start = attrs.get("startDate")
    end: date | None = attrs.get("endDate") or start
    errors = date_errors(start, end, end_given=attrs.get("endDate") is not None)
    attrs["endDate"] = end
    refused = f"{job_type} reads a store and writes a store; it sends no request to the dashboard"
    if attrs["collectionType"] != "auto":
        errors["collectionType"] = [f"Not for {job_type}: {refused}."]
    if attrs.get("rateLimitDelayMs") is not None:
        errors["rateLimitDelayMs"] = [f"Not for {job_type}: {refused}."]
    if attrs.get("reprocess", REPROCESS_MISSING) != REPROCESS_MISSING or (
        attrs.get("skipExisting") is False
    ):
        name = "reprocess" if "reprocess" in attrs else "skipExisting"
        errors[name] = [
            f"Not for {job_type}: only what changed since the last {job_type} is written."
        ]
    if not attrs["collectSummary"]:
        errors["collectSummary"] = [f"Not for {job_type}: {refused}."]
    if attrs.get("targetDistricts"):
        errors["targetDistricts"] = [
            f"Not for {job_type}: the site's rankings and indexes cover every district, so "
            f"{job_type} covers them all."
        ]
    if job_type == JobType.PUBLISH:
        errors.update(_publish_errors(attrs))
    else:
        errors.update(_import_errors(attrs))
    return errors


def _publish_errors(attrs: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if attrs["source"] != Source.DASHBOARD:
        errors["source"] = [
            "Not for publish: it reads our snapshot store; destination says where it writes."
        ]
    destination = attrs.get("destination") or settings.PUBLISH_DESTINATION
    if not destination:
        errors["destination"] = [
            f"Required for publish ({LOCATION_FORMS}): no PUBLISH_DESTINATION is set."
        ]
    elif problem := location_error(destination, bare_path=False):
        errors["destination"] = [problem]
    attrs["destination"] = destination
    return errors


def _import_errors(attrs: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if attrs.get("destination"):
        errors["destination"] = ["Only for publish."]
    source = attrs["source"]
    if source in Source.values:
        errors["source"] = [f"Required for import: the URL of the site's tree ({LOCATION_FORMS})."]
    elif problem := location_error(source):
        errors["source"] = [problem]
    return errors
