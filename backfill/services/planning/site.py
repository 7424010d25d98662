"""Planning the two job types of the district-statistics site: `publish` (one unit per stored
date, whose files `website.publishing.publish_dates` writes; the indexes, `v1/latest.json`
last, are written once the last date has ended, by `assembly`) and `import` (one unit per date
of the site's tree, read back by `website.importing.import_date`). Each unit has district
ALL_DISTRICTS: a date of the site holds every district."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError

from districts.ids import ALL_DISTRICTS
from website import importing, publishing
from website.sources import SiteSourceError

from ...models import CollectionStrategy, JobType, UnitStatus
from .plan import Plan, PlannedUnit
from .request import BackfillRequest

SITE_SCOPE = {
    "targetDistricts": [],
    "configuredDistricts": [],
    "excludedDistricts": [],
    "scopeType": "system-wide",
    "validationPassed": True,
}


def plan_publish(request: BackfillRequest) -> Plan:
    """Plan a publish job to `request.destination`: one unit per stored date of the range that
    can be published (omitted dates: every one). Raises ValidationError (`startDate`,
    `endDate`) when there is none, (`endDate`) beyond BACKFILL_MAX_JOB_UNITS."""
    days = publishing.publishable_dates(request.start_date, request.end_date)
    return _site_plan(
        request,
        days,
        strategy=CollectionStrategy.PUBLISH,
        nothing="no stored snapshot to publish",
        rationale=(
            f"publish {len(days)} stored date(s) to {request.destination}, then the indexes "
            "(v1/latest.json last); only what changed since the last publish is written; no "
            "request to the dashboard"
        ),
    )


def plan_import(request: BackfillRequest) -> Plan:
    """Plan an import job from the site's tree at `request.source`: one unit per date of the
    tree in the range (omitted dates: every one). Raises ValidationError (`source`) when the
    tree cannot be read, (`startDate`, `endDate`) when it has no date in the range, (`endDate`)
    beyond BACKFILL_MAX_JOB_UNITS."""
    try:
        days = importing.importable_dates(request.source, request.start_date, request.end_date)
    except SiteSourceError as exc:
        raise ValidationError({"source": [f"The site's tree cannot be read: {exc}"]}) from exc
    return _site_plan(
        request,
        days,
        strategy=CollectionStrategy.IMPORT,
        nothing=f"no snapshot date in the site's tree at {request.source}",
        rationale=(
            f"import {len(days)} date(s) of the site's tree at {request.source}: every district "
            "file through our contracts and normalizer; a file that fails one is refused; no "
            "request to the dashboard"
        ),
    )


PLANNERS: dict[str, Callable[[BackfillRequest], Plan]] = {
    JobType.PUBLISH: plan_publish,
    JobType.IMPORT: plan_import,
}


def _site_plan(
    request: BackfillRequest,
    days: Sequence[date],
    *,
    strategy: str,
    nothing: str,
    rationale: str,
) -> Plan:
    if not days:
        where = (
            f" between {request.start_date} and {request.end_date}"
            if request.start_date or request.end_date
            else ""
        )
        message = f"Nothing to do: {nothing}{where}."
        raise ValidationError({"startDate": [message], "endDate": [message]})
    if len(days) > settings.BACKFILL_MAX_JOB_UNITS:
        raise ValidationError(
            {
                "endDate": [
                    f"{len(days)} units is more than {settings.BACKFILL_MAX_JOB_UNITS} "
                    "(BACKFILL_MAX_JOB_UNITS); split the job."
                ]
            }
        )
    ordered = tuple(sorted(days))
    return Plan(
        request=request,
        collection_strategy=strategy,
        rationale=rationale,
        estimated_efficiency=0.0,
        scope=dict(SITE_SCOPE),
        districts=(ALL_DISTRICTS,),
        dates=ordered,
        planned=tuple(PlannedUnit(day, ALL_DISTRICTS, UnitStatus.PENDING) for day in ordered),
    )
