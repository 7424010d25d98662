"""Property 3: the collection strategy a request gets, through the real job API and planning.

The expected strategy is the rule of DOMAIN.md section 8 and the README's glossary, restated
here: `system-wide` (one summary per date) when no district is targeted or every configured one
is; `per-district` (three reports per district and date) when asked, or by `auto` for up to 10
districts; `targeted` (one summary per date, filtered) otherwise. Efficiency is districts
covered per request.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill.models import BackfillJob
from districts import services as district_services
from districts.ids import ALL_DISTRICTS

pytestmark = [pytest.mark.properties, pytest.mark.django_db]

# Real districts of the simulated dashboard, enough to cross the 10-district line of `auto`.
POOL = (*(str(d) for d in range(1, 25)), "F")
AUTO_PER_DISTRICT_LIMIT = 10
TYPICAL_DISTRICT_COUNT = 120  # the estimate's district count when no scope is configured


@st.composite
def strategy_cases(draw):
    configured = draw(st.permutations(POOL))[: draw(st.integers(0, 16))]
    match draw(st.sampled_from(["none", "all", "some"])):
        case "none":
            targets = []
        case "all":
            targets = draw(st.permutations(configured))  # every configured district, any order
        case _:
            # A strict part of the scope (or of every district), often around the 10-district
            # line of `auto`.
            choices = configured or list(POOL)
            most = len(choices) - 1 if configured else len(choices)
            size = draw(st.one_of(st.integers(0, 16), st.sampled_from([10, 11])))
            targets = draw(st.permutations(choices))[: min(size, most)]
    collection_type = draw(st.sampled_from(["auto", "system-wide", "per-district"]))
    days = draw(st.integers(1, 3))
    return configured, targets, collection_type, days


def expected(configured: list[str], targets: list[str], collection_type: str):
    """(strategy, districts per summary or per-district unit, count) or None for a 400."""
    everything = not targets or (configured and set(targets) == set(configured))
    districts = targets or configured
    count = len(districts) if districts else TYPICAL_DISTRICT_COUNT
    if collection_type == "per-district":
        return None if not districts else ("per-district", count)
    if collection_type == "system-wide" or everything:
        return ("system-wide" if everything else "targeted", count)
    return ("per-district" if count <= AUTO_PER_DISTRICT_LIMIT else "targeted", count)


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=strategy_cases())
def test_the_strategy_follows_the_scope_and_the_detail_asked_for(
    staff_client, sent, snapshot_root, case
):
    """Feature: unified-backfill-service, Property 3: Collection Strategy Selection

    For any request (configured scope of 0-16 districts, none, some or all of them targeted, any
    collection type), the job's strategy is system-wide for every district, per-district when
    detail is asked for or up to 10 districts are targeted, targeted for more; its units (one
    per district and date, or one summary per date), rationale and efficiency (districts per
    request) match; per-district over every district is a 400 naming `collectionType`."""
    configured, targets, collection_type, days = case
    cache.clear()  # the API's write throttle counts per test, not per example
    BackfillJob.objects.all().delete()
    district_services.set_configured_districts(district_ids=configured)
    body = {
        "startDate": "2025-03-10",
        "endDate": f"2025-03-{9 + days}",
        "targetDistricts": targets,
        "collectionType": collection_type,
    }
    response = staff_client.post("/api/admin/backfill", body, format="json")
    want = expected(configured, targets, collection_type)
    if want is None:
        assert response.status_code == 400 and set(response.json()) == {"collectionType"}
        assert not BackfillJob.objects.exists()
        return
    assert response.status_code == 202, response.json()
    strategy, count = want
    answer = response.json()["collectionStrategy"]
    assert answer["type"] == strategy, (configured, targets, collection_type)
    assert answer["rationale"]
    job = BackfillJob.objects.get()
    assert job.collection_strategy == strategy
    units = list(job.units.values_list("district_id", flat=True))
    if strategy == "per-district":
        assert answer["estimatedEfficiency"] == pytest.approx(1 / 3, abs=1e-3)
        assert sorted(units) == sorted((targets or configured) * days)
    else:
        assert answer["estimatedEfficiency"] == count
        assert units == [ALL_DISTRICTS] * days
