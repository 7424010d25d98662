"""Planning a data-collection job: the collection strategy (system-wide, targeted or
per-district) and its rationale, the efficiency estimate, the dates no unit can collect yet."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from districts.ids import ALL_DISTRICTS

from ...models import CollectionStrategy
from . import scope as scopes
from .month_ends import blocked_dates
from .plan import Plan
from .request import BackfillRequest

PER_DISTRICT_AUTO_LIMIT = 10  # `auto` picks per-district detail for up to this many targets
REQUESTS_PER_UNIT = {
    CollectionStrategy.SYSTEM_WIDE: 1,
    CollectionStrategy.TARGETED: 1,
    CollectionStrategy.PER_DISTRICT: 3,
    CollectionStrategy.ANALYTICS: 0,
}
# Districts the dashboard publishes per summary, for the efficiency estimate when no scope is
# configured (DOMAIN.md section 6: ~128 in 2025-26, 94 from 2026-27).
TYPICAL_DISTRICT_COUNT = 120


def plan_collection(request: BackfillRequest) -> Plan:
    warnings, resolution = scopes.resolve_scope(request)
    everything = not request.target_districts or resolution.all_configured
    districts = resolution.targets or resolution.configured or (ALL_DISTRICTS,)
    count = len(districts) if districts != (ALL_DISTRICTS,) else TYPICAL_DISTRICT_COUNT
    match request.collection_type:
        case "system-wide":
            strategy = CollectionStrategy.SYSTEM_WIDE if everything else CollectionStrategy.TARGETED
            rationale = "system-wide requested: one summary request per date" + (
                "" if everything else f", filtered to {count} targeted districts"
            )
        case "per-district":
            if districts == (ALL_DISTRICTS,):
                raise ValidationError(
                    {
                        "collectionType": [
                            "per-district needs targetDistricts or a configured district scope."
                        ]
                    }
                )
            strategy = CollectionStrategy.PER_DISTRICT
            rationale = f"per-district requested: full detail for {count} districts"
        case _:
            if everything:
                strategy = CollectionStrategy.SYSTEM_WIDE
                rationale = "no targets (or every configured district): one summary per date"
            elif count <= PER_DISTRICT_AUTO_LIMIT:
                strategy = CollectionStrategy.PER_DISTRICT
                rationale = (
                    f"{count} targeted districts (<= {PER_DISTRICT_AUTO_LIMIT}): full detail "
                    "with three requests per district and date"
                )
            else:
                strategy = CollectionStrategy.TARGETED
                rationale = (
                    f"{count} targeted districts (> {PER_DISTRICT_AUTO_LIMIT}): one summary "
                    "request per date, filtered to the targets"
                )
    if not request.collect_summary and strategy != CollectionStrategy.PER_DISTRICT:
        raise ValidationError(
            {
                "collectSummary": [
                    f"Only for a per-district collection: a {strategy} collection is the "
                    "all-districts summary."
                ]
            }
        )
    # Districts covered per request: a summary covers all of them, per-district needs three.
    covered = 1 if strategy == CollectionStrategy.PER_DISTRICT else count
    efficiency = covered / REQUESTS_PER_UNIT[strategy]
    days = (request.end_date - request.start_date).days + 1
    per_date = len(districts) if strategy == CollectionStrategy.PER_DISTRICT else 1
    if per_date * days > settings.BACKFILL_MAX_JOB_UNITS:
        raise ValidationError(
            {
                "endDate": [
                    f"{per_date * days} units ({days} days x {per_date} per date) is more than "
                    f"{settings.BACKFILL_MAX_JOB_UNITS} (BACKFILL_MAX_JOB_UNITS); split the job."
                ]
            }
        )
    scope = scopes.scope_json(request, resolution)
    dates = tuple(request.start_date + timedelta(days=i) for i in range(days))
    return Plan(
        request=request,
        collection_strategy=strategy,
        rationale=rationale,
        estimated_efficiency=round(efficiency, 3),
        scope=scope,
        districts=tuple(districts),
        dates=dates,
        warnings=tuple(warnings),
        blocked=blocked_dates(dates, today=timezone.localdate()),
    )
