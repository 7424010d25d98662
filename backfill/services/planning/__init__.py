"""Planning a job: resolve the scope, pick the strategy, list the units.

Takes a `BackfillRequest` (`request`) that `backfill.contracts` has validated (the one input
contract of every entry point). `plan` sends it to the planner of its kind (`collection`,
`analytics`, `site` for publish and import); the result (`plan.Plan`) is persisted by
`jobs.create_job` or reported by `preview.preview_plan`. `stored` and `month_ends` tell what
the store holds and which dates can be collected.
"""

from __future__ import annotations

from ...models import JobType
from .analytics import plan_analytics
from .collection import plan_collection
from .plan import Plan
from .request import BackfillRequest
from .site import PLANNERS as SITE_PLANNERS


def plan(request: BackfillRequest) -> Plan:
    """Resolve scope and strategy for a validated request. Raises ValidationError."""
    if request.job_type == JobType.ANALYTICS_GENERATION:
        return plan_analytics(request)
    if request.job_type in SITE_PLANNERS:
        return SITE_PLANNERS[request.job_type](request)
    return plan_collection(request)
