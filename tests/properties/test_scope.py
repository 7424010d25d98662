"""Properties 2 and 7: the district scope, through the real API and planning.

Each example sets the configured scope and the districts known to exist (the `District` rows
that collected summaries leave; none before the first) in PostgreSQL, then posts a generated
request. The broker is a recorder (`sent`): nothing runs, so a refusal can be checked to have
started nothing. The expected answer is computed here from the rules (README *Glossary*,
`backfill/contracts.py`), not by calling the code under test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill.models import BackfillJob, BackfillUnit, CollectionStrategy
from districts import services as district_services
from districts.ids import ALL_DISTRICTS, district_sort_key
from districts.models import District
from tests.properties.conftest import DISTRICT_POOL

pytestmark = [pytest.mark.properties, pytest.mark.django_db]

API_SETTINGS = hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
UNKNOWN = ("999", "404", "Q")  # right shape, but no summary lists them and nobody configured them
INVALID = ("4242", "", "4a", "-1", "F1", "1.5", "06 07", "D42", "0x1")
ENDPOINTS = {
    # endpoint -> (URL, status of an accepted request)
    "create": ("/api/admin/backfill", 202),
    "preview": ("/api/admin/backfill/preview", 200),
    "legacy": ("/api/districts/backfill", 202),
}
SHAPE = re.compile(r"^\s*(\d{1,3}|[A-Za-z])\s*$")


def canonical(raw: str) -> str:
    value = raw.strip()
    return value.upper() if value.isalpha() else str(int(value))


def spellings(district_id: str) -> st.SearchStrategy[str]:
    """The ways a request may write a district: `6`, `06`, `006`, ` 6 `, `f`."""
    if district_id.isdigit():
        forms = {district_id, district_id.zfill(2), district_id.zfill(3), f" {district_id} "}
    else:
        forms = {district_id, district_id.lower()}
    return st.sampled_from(sorted(forms))


@st.composite
def scope_cases(draw, *, invalid: bool = True):
    configured = draw(st.lists(st.sampled_from(DISTRICT_POOL), max_size=4, unique=True))
    known = draw(st.booleans())  # has a summary been collected (District rows exist)?
    pools = [st.sampled_from(DISTRICT_POOL), st.sampled_from(UNKNOWN)]
    wanted = draw(st.lists(st.one_of(*pools), max_size=5))
    targets = [draw(spellings(d)) for d in wanted]
    if invalid and draw(st.booleans()):
        bad = draw(st.lists(st.sampled_from(INVALID), min_size=1, max_size=2))
        for value in bad:
            targets.insert(draw(st.integers(0, len(targets))), value)
    if targets and draw(st.booleans()):
        targets.append(draw(st.sampled_from(targets)))  # a duplicate, same spelling
    return configured, known, targets, draw(st.sampled_from(sorted(ENDPOINTS)))


def prepare(configured: list[str], known: bool) -> None:
    cache.clear()  # the API's write throttle counts per test, not per example
    BackfillJob.objects.all().delete()
    District.objects.all().delete()
    if known:
        District.objects.bulk_create(
            [District(id=d, region="01", first_seen=date(2025, 3, 1)) for d in DISTRICT_POOL]
        )
    district_services.set_configured_districts(district_ids=configured)


def messages(body: dict, field: str) -> str:
    return " ".join(map(str, body.get(field) or []))


@API_SETTINGS
@given(case=scope_cases())
def test_target_districts_are_validated_against_the_configured_scope_first(
    staff_client, sent, snapshot_root, case
):
    """Feature: unified-backfill-service, Property 2: Targeting Scope Validation

    For any request with target districts (any spelling, duplicates, malformed, unknown or out
    of the configured scope) to the job API, its preview or the legacy route, the targets are
    checked before anything starts: a malformed id, an unknown id (once summaries have listed
    the real ones) or a request left with no in-scope district is a 400 naming
    `targetDistricts` (and the offending ids) with no job, unit or message; anything else is
    accepted with the in-scope targets, canonical and deduplicated, in the request's order."""
    configured, known, targets, endpoint = case
    prepare(configured, known)
    sent.clear()
    url, accepted = ENDPOINTS[endpoint]
    body = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": targets}
    response = staff_client.post(url, body, format="json")
    answer = response.json()

    malformed = [t for t in targets if not SHAPE.match(t)]
    ids = list(dict.fromkeys(canonical(t) for t in targets if SHAPE.match(t)))
    unknown = [d for d in ids if known and d not in DISTRICT_POOL and d not in configured]
    in_scope = [d for d in ids if not configured or d in configured]
    if malformed or unknown or (ids and not in_scope):
        assert response.status_code == 400, answer
        if endpoint == "legacy":  # the old backend's error shape
            assert answer["error"]["message"].startswith("targetDistricts: ")
            answer = answer["error"]["details"]
        assert set(answer) == {"targetDistricts"}, answer
        text = messages(answer, "targetDistricts")
        for value in malformed:
            assert repr(value) in text
        if not malformed:
            for district_id in unknown:
                assert district_id in text
        assert not BackfillJob.objects.exists() and not BackfillUnit.objects.exists()
        assert sent == []
        return
    assert response.status_code == accepted, answer
    scope = answer["scope"]
    assert scope["targetDistricts"] == in_scope
    assert scope["validationPassed"] is True
    if endpoint != "legacy":
        assert scope["excludedDistricts"] == [d for d in ids if d not in in_scope]
    if endpoint == "preview":
        assert not BackfillJob.objects.exists()
        return
    job = BackfillJob.objects.get()
    units = set(job.units.values_list("district_id", flat=True))
    assert units <= set(in_scope or configured) | {ALL_DISTRICTS}


@st.composite
def enforcement_cases(draw):
    configured = draw(st.lists(st.sampled_from(DISTRICT_POOL), min_size=1, max_size=5, unique=True))
    outside = [d for d in DISTRICT_POOL if d not in configured]
    inside = draw(st.lists(st.sampled_from(configured), max_size=len(configured), unique=True))
    extra = draw(st.lists(st.sampled_from(outside), max_size=3, unique=True)) if outside else []
    targets = draw(st.permutations(inside + extra)) if inside else []
    days = draw(st.integers(1, 3))
    collection_type = draw(st.sampled_from(["auto", "system-wide", "per-district"]))
    return configured, targets, days, collection_type


@API_SETTINGS
@given(case=enforcement_cases())
def test_out_of_scope_districts_are_excluded_and_reported(staff_client, sent, snapshot_root, case):
    """Feature: unified-backfill-service, Property 7: Configuration Scope Enforcement

    For any job over a configured scope (targets inside and outside it, any collection type),
    only configured districts are planned: per-district units exist for exactly the in-scope
    targets (every configured district without targets) on every date, a summary job records
    them as the districts it keeps; the out-of-scope ones are recorded as excluded and named in
    the job's warnings, which the job API returns."""
    configured, targets, days, collection_type = case
    prepare(configured, known=True)
    start = date(2025, 3, 10)
    body = {
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=days - 1)).isoformat(),
        "collectionType": collection_type,
        "targetDistricts": targets,
    }
    response = staff_client.post("/api/admin/backfill", body, format="json")
    assert response.status_code == 202, response.json()
    job = BackfillJob.objects.get(pk=response.json()["jobId"])
    in_order = sorted(configured, key=district_sort_key)
    kept = [d for d in targets if d in configured] or in_order
    excluded = [d for d in targets if d not in configured]
    assert job.scope["targetDistricts"] == [d for d in targets if d in configured]
    assert job.scope["excludedDistricts"] == excluded
    assert job.scope["configuredDistricts"] == in_order
    units = list(job.units.values_list("logical_date", "district_id"))
    if job.collection_strategy == CollectionStrategy.PER_DISTRICT:
        assert sorted(units) == sorted(
            (start + timedelta(days=i), d) for i in range(days) for d in kept
        )
    else:
        assert sorted(units) == [(start + timedelta(days=i), ALL_DISTRICTS) for i in range(days)]
        # What a summary unit keeps: the scope's districts (tests/properties/test_snapshots.py
        # runs such jobs and checks the files).
        wanted = job.scope["targetDistricts"] or job.scope["configuredDistricts"]
        assert wanted == kept
    warnings = " ".join(job.scope["warnings"])
    shown = " ".join(response.json()["scope"]["warnings"])
    if excluded:
        assert "excluded" in warnings.lower() and "excluded" in shown.lower()
    for district_id in excluded:
        assert re.search(rf"\b{district_id}\b", warnings.split("excluded:")[-1])
        assert re.search(rf"\b{district_id}\b", shown.split("excluded:")[-1])
    if not excluded:
        assert "excluded" not in warnings
