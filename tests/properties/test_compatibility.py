"""Properties 8 and 11: the legacy routes and the responses the user interfaces read.

The shapes are the seeds' TypeScript interfaces (seed 000 *API Endpoints*, seed 001
*BackfillResponse*, *BackfillScope*, *BackfillProgress*, *DistrictProgress*,
*CollectionStrategy*), transcribed below with their types, and the fields the admin's live job
page reads (`backfill/static/backfill/job.js`). Requests go through the real API on PostgreSQL
and Redis (performance status); the broker is a recorder.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill.models import BackfillJob, JobStatus, UnitStatus
from districts import services as district_services
from snapshots import store
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.snapshots.factories import full_statistics

pytestmark = [pytest.mark.properties, pytest.mark.django_db]

SETTINGS = hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- the shapes, as the seeds write them ------------------------------------------------------

NUMBER = (int, float)
LEGACY_STATUS = {"processing", "complete", "error", "cancelled", "partial_success"}
DISTRICT_STATUS = {"pending", "processing", "completed", "failed", "skipped"}
DISTRICT_PROGRESS = {
    "districtId": str,
    "status": DISTRICT_STATUS,
    "datesProcessed": int,
    "datesTotal": int,
    "lastError?": str,
    "successfulDates": [str],
    "failedDates": [str],
    "retryCount": int,
}
BACKFILL_RESPONSE = {
    "backfillId": str,
    "status": LEGACY_STATUS,
    "scope": {
        "targetDistricts": [str],
        "configuredDistricts": [str],
        "scopeType": {"system-wide", "targeted", "single-district"},
        "validationPassed": bool,
    },
    "progress": {
        "total": int,
        "completed": int,
        "skipped": int,
        "unavailable": int,
        "failed": int,
        "current": str,
        "districtProgress": {str: DISTRICT_PROGRESS},
        "partialSnapshots": int,
        "totalErrors": int,
        "retryableErrors": int,
        "permanentErrors": int,
    },
    "collectionStrategy": {
        "type": {"system-wide", "per-district", "targeted"},
        "refreshMethod": {
            "name": {"getAllDistricts", "getDistrictPerformance", "getMultipleDistricts"},
            "params": dict,
        },
        "rationale": str,
        "estimatedEfficiency": NUMBER,
        "targetDistricts?": [str],
    },
    "error?": str,
    "snapshotIds": [str],
    "errorSummary?": {
        "totalErrors": int,
        "retryableErrors": int,
        "permanentErrors": int,
        "affectedDistricts": [str],
        "partialSnapshots": int,
    },
    "partialSnapshots?": [
        {
            "snapshotId": str,
            "successfulDistricts": [str],
            "failedDistricts": [str],
            "totalDistricts": int,
            "successRate": NUMBER,
        }
    ],
    "performanceStatus?": {
        "rateLimiter": {
            "currentCount": int,
            "maxRequests": int,
            "windowMs": int,
            "nextResetAt": str,
        },
        "concurrencyLimiter": {"activeSlots": int, "maxConcurrent": int, "queueLength": int},
        "intermediateCache": {"hitRate": NUMBER, "entryCount": int, "sizeBytes": int},
    },
    "districtId?": str,
}
CANCEL_RESPONSE = {"success": bool, "message": str, "backfillId": str, "districtId?": str}
OPTIONAL_INT = (int, type(None))
OPTIONAL_NUMBER = (int, float, type(None))
# What the admin's live job page (job.js) reads from the status JSON (the job API's status body
# with `isTerminal`, `lastErrors` and `grid`).
JOB_PAGE_STATUS = {
    "status": set(JobStatus.values),
    "isTerminal": bool,
    "whyNotRunning": (str, type(None)),
    "progress": {
        **dict.fromkeys(
            ("total", "succeeded", "skipped", "unavailable", "failed", "cancelled"), int
        ),
        **dict.fromkeys(("waiting", "running", "pending"), int),
        "percent": NUMBER,
        "currentDate": (str, type(None)),
        "etaSeconds": OPTIONAL_NUMBER,
        "districtProgress": [
            {
                "districtId": str,
                **dict.fromkeys(("running", "pending", "failed", "cancelled", "total"), int),
            }
        ],
    },
    "performanceStatus": {
        "redisAvailable": bool,
        "rateLimiter": {
            "currentCount": OPTIONAL_INT,
            "maxRequests": int,
            "windowMs": int,
            "nextResetMs": OPTIONAL_INT,
            "cooldownRemainingMs": OPTIONAL_INT,
            "effectiveDelayMs": OPTIONAL_INT,
            "delayReason": str,
        },
        "concurrency": {"active": int, "max": int, "queued": int},
        "intermediateCache": {
            "hitRate": OPTIONAL_NUMBER,
            "hits": OPTIONAL_INT,
            "misses": OPTIONAL_INT,
        },
        "circuitBreaker": {
            "state": (str, type(None)),
            "failures": OPTIONAL_INT,
            "probeInMs": OPTIONAL_INT,
        },
    },
    "lastErrors": {str: str},
    "errorSummary": {
        "totalErrors?": int,
        "byType?": {str: int},
        "retryableErrors?": int,
        "permanentErrors?": int,
        "affectedDistricts?": [str],
    },
    "grid": {
        "byWeek": bool,
        "columns": [str],
        "districts": [str],
        "cells": [[(str, type(None))]],
    },
}


def conforms(value: Any, spec: Any, path: str = "$") -> None:
    """Assert that `value` has the shape `spec`: a type or tuple of types, a set of allowed
    values, `[spec]` (a list of them), `{str: spec}` (a map) or `{key: spec}` (an object;
    `key?` optional, no other key missing)."""
    if isinstance(spec, set):
        assert value in spec, f"{path}: {value!r} not one of {sorted(spec)}"
    elif isinstance(spec, list):
        assert isinstance(value, list), f"{path}: {value!r} is not a list"
        for i, item in enumerate(value):
            conforms(item, spec[0], f"{path}[{i}]")
    elif isinstance(spec, dict) and set(spec) == {str}:
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        for key, item in value.items():
            conforms(item, spec[str], f"{path}.{key}")
    elif isinstance(spec, dict):
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        for key, item_spec in spec.items():
            name = key.rstrip("?")
            if name not in value:
                assert key.endswith("?"), f"{path}.{name} is missing"
                continue
            conforms(value[name], item_spec, f"{path}.{name}")
    else:
        if spec in (int, NUMBER, OPTIONAL_INT, OPTIONAL_NUMBER):
            assert not isinstance(value, bool), f"{path}: {value!r} is a boolean"
        assert isinstance(value, spec), f"{path}: {value!r} is not {spec}"


def assert_deprecated(response) -> None:
    assert response["Deprecation"].startswith("@")
    assert response["Sunset"].endswith("GMT")
    assert 'rel="successor-version"' in response["Link"]


# --- Property 8 -------------------------------------------------------------------------------

DISTRICTS = ("42", "61", "F", "9")
valid_days = st.integers(0, 400).map(lambda n: date(2024, 1, 1) + timedelta(days=n))


@st.composite
def legacy_requests(draw):
    """A legacy request: its route (seed 000's, or the old district page's with a district id
    as the page wrote it) and a body of the seed's fields, each valid or not."""
    district = draw(st.none() | st.sampled_from(DISTRICTS))
    padded = district and district.isdigit() and draw(st.booleans())
    spelled = district.zfill(3) if padded else district
    start = draw(valid_days)
    body: dict[str, Any] = {}
    bad: set[str] = set()
    if draw(st.integers(0, 9)) == 0:
        body["startDate"] = draw(
            st.sampled_from(["01/01/2024", "2024-13-01", "yesterday", 20240101])
        )
        bad.add("startDate")
    else:
        body["startDate"] = start.isoformat()
    if draw(st.booleans()):
        body["endDate"] = (start + timedelta(days=draw(st.integers(-2, 3)))).isoformat()
    if district is None and draw(st.booleans()):
        body["targetDistricts"] = draw(
            st.lists(st.sampled_from(DISTRICTS), min_size=1, max_size=3, unique=True)
        )
    options = {
        "collectionType": (
            st.sampled_from(["auto", "system-wide", "per-district"]),
            st.just("all"),
        ),
        "concurrency": (st.integers(1, 10), st.sampled_from([0, 33, "3", 2.5])),
        "retryFailures": (st.booleans(), st.sampled_from(["yes", 1])),
        "skipExisting": (st.booleans(), st.just("false")),
        "enableCaching": (st.booleans(), st.just(0)),
        "rateLimitDelayMs": (st.integers(0, 5000), st.just(-1)),
    }
    for name, (good, wrong) in options.items():
        choice = draw(st.integers(0, 12))
        if choice < 5:
            body[name] = draw(good)
        elif choice == 5:
            body[name] = draw(wrong)
            bad.add(name)
    return district, spelled, body, bad


def expected_errors(district, body, bad) -> set[str]:
    """The fields a 400 must name: the bad fields and, beside them (the errors of one request
    come together), an end before a valid start; then the scope."""
    if "startDate" not in bad:
        start = date.fromisoformat(body["startDate"])
        end = date.fromisoformat(body.get("endDate", body["startDate"]))
        if end < start:
            return bad | {"endDate"}
    if bad:
        return bad
    if body.get("collectionType") == "per-district" and not (
        district or body.get("targetDistricts")
    ):
        return {"collectionType"}  # per-district over every district (no scope configured)
    return set()


@SETTINGS
@given(case=legacy_requests())
def test_legacy_routes_answer_the_seed_shapes(staff_client, sent, snapshot_root, case):
    """Feature: unified-backfill-service, Property 8: API Backward Compatibility

    For any legacy request (seed 000's body fields, valid or not, on `/api/districts/backfill`
    or the old district route with `42` or `042`), the answer is the original service's: a 400
    naming exactly the bad fields, or a 202 with a BackfillResponse of the seed's shape
    (`processing`, the scope, per-district progress, the refresh method of the strategy);
    `GET` answers the same shape for the same id, `DELETE` the seed's cancel body, a second
    `DELETE` a 409; every answer carries the Deprecation, Sunset and successor Link headers."""
    district, spelled, body, bad = case
    cache.clear()  # the API's write throttle counts per test, not per example
    BackfillJob.objects.all().delete()
    district_services.set_configured_districts(district_ids=[])
    base = f"/api/districts/{spelled}/backfill" if district else "/api/districts/backfill"
    response = staff_client.post(base, body, format="json")
    assert_deprecated(response)
    answer = response.json()
    errors = expected_errors(district, body, bad)
    if errors:
        assert response.status_code == 400, answer
        # The old backend's error shape: the old front end shows `error.message`.
        error = answer["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert set(error["details"]) == errors
        first, messages = next(iter(error["details"].items()))
        assert error["message"] == f"{first}: {messages[0]}"
        assert not BackfillJob.objects.exists()
        return
    assert response.status_code == 202, answer
    conforms(answer, BACKFILL_RESPONSE)
    job = BackfillJob.objects.get(pk=answer["backfillId"])
    assert answer["status"] == "processing"
    assert answer["progress"]["total"] == job.total_units
    targets = [district] if district else body.get("targetDistricts", [])
    assert answer["scope"]["targetDistricts"] == targets
    assert answer["collectionStrategy"]["type"] == job.collection_strategy
    method = {
        "system-wide": "getAllDistricts",
        "per-district": "getDistrictPerformance",
        "targeted": "getMultipleDistricts",
    }[job.collection_strategy]
    assert answer["collectionStrategy"]["refreshMethod"]["name"] == method
    if district:
        assert answer["districtId"] == spelled  # as the path wrote it
        assert answer["scope"]["scopeType"] == "single-district"
    url = f"{base}/{job.pk}"
    got = staff_client.get(url)
    assert got.status_code == 200 and got.json()["backfillId"] == str(job.pk)
    conforms(got.json(), BACKFILL_RESPONSE)
    assert_deprecated(got)
    cancelled = staff_client.delete(url)
    assert cancelled.status_code == 200
    conforms(cancelled.json(), CANCEL_RESPONSE)
    expected = {
        "success": True,
        "message": "Backfill cancelled successfully",
        "backfillId": str(job.pk),
    }
    assert cancelled.json() == ({**expected, "districtId": spelled} if district else expected)
    again = staff_client.delete(url)
    assert again.status_code == 409
    assert again.json()["error"]["details"]["status"] in ("cancelling", "cancelled")
    assert_deprecated(again)


# --- Property 11 ------------------------------------------------------------------------------

UNIT_STATES = st.sampled_from(UnitStatus.values)
ERROR_TYPES = st.sampled_from(
    ["", "fetch_failed", "validation_failed", "network_error", "timeout_error"]
)


@st.composite
def jobs_in_any_state(draw):
    districts = draw(st.lists(st.sampled_from(DISTRICTS), min_size=1, max_size=3, unique=True))
    days = draw(st.integers(1, 3))
    units = [
        (day, d, draw(UNIT_STATES), draw(ERROR_TYPES), draw(st.integers(0, 4)), draw(st.booleans()))
        for day in range(days)
        for d in districts
    ]
    return draw(st.sampled_from(JobStatus.values)), districts, units, draw(st.booleans())


@SETTINGS
@given(case=jobs_in_any_state())
def test_every_status_answer_carries_what_the_interfaces_read(
    staff_client, admin_client, snapshot_root, case
):
    """Feature: unified-backfill-service, Property 11: Frontend API Compatibility

    For any job in any state (every job status; units in every unit status, with or without
    errors, retries and a partial snapshot stored), the status answers carry every field the
    interfaces read, with its type: the seed's BackfillResponse on both legacy routes (the old
    BackfillButton and district pages), and the admin's live job page's status JSON with its
    grid; and they agree on the state (a finished job is terminal everywhere, counts add up)."""
    status, districts, units, partial = case
    BackfillJob.objects.all().delete()
    start = date(2025, 3, 10)
    job = BackfillJobFactory(
        status=status,
        start_date=start,
        end_date=start + timedelta(days=max(u[0] for u in units)),
        scope={
            "targetDistricts": districts,
            "configuredDistricts": [],
            "scopeType": "single-district" if len(districts) == 1 else "targeted",
            "validationPassed": True,
        },
        total_units=len(units),
    )
    counters = {
        UnitStatus.SUCCEEDED: "succeeded_units",
        UnitStatus.SKIPPED: "skipped_units",
        UnitStatus.UNAVAILABLE: "unavailable_units",
        UnitStatus.FAILED: "failed_units",
        UnitStatus.CANCELLED: "cancelled_units",
        UnitStatus.WAITING: "waiting_units",
    }
    for day, district_id, unit_status, error_type, attempts, retryable in units:
        failed = unit_status == UnitStatus.FAILED
        BackfillUnitFactory(
            job=job,
            logical_date=start + timedelta(days=day),
            district_id=district_id,
            status=unit_status,
            attempts=attempts,
            error_type=error_type or ("fetch_failed" if failed else ""),
            error_message="HTTP 500" if failed else "",
            retryable=retryable if failed else None,
        )
        if unit_status in counters:
            setattr(job, counters[unit_status], getattr(job, counters[unit_status]) + 1)
    job.save()
    failed_districts = {u[1] for u in units if u[0] == 0 and u[2] == UnitStatus.FAILED}
    ok_districts = {u[1] for u in units if u[0] == 0 and u[2] == UnitStatus.SUCCEEDED}
    if partial and failed_districts and ok_districts:
        for district_id in ok_districts:
            store.write_district(
                logical_date=start,
                statistics=full_statistics(logical_date=start, district_id=district_id),
            )
        store.finalize_snapshot(
            logical_date=start,
            collection_strategy="per-district",
            scope=districts,
            job_id=job.pk,
            district_errors={
                d: {"errorType": "fetch_failed", "message": "HTTP 500"} for d in failed_districts
            },
        )
    terminal = status in ("completed", "partial_success", "failed", "cancelled")

    routes = [f"/api/districts/backfill/{job.pk}"]
    if len(districts) == 1:
        routes.append(f"/api/districts/{districts[0]}/backfill/{job.pk}")
    for route in routes:
        response = staff_client.get(route)
        assert response.status_code == 200, response.json()
        body = response.json()
        conforms(body, BACKFILL_RESPONSE)
        progress = body["progress"]
        assert (body["status"] in {"complete", "error", "cancelled", "partial_success"}) == terminal
        assert progress["total"] == len(units)
        assert set(progress["districtProgress"]) == set(districts)
        for district_id, entry in progress["districtProgress"].items():
            assert entry["districtId"] == district_id and entry["datesTotal"] == len(
                [u for u in units if u[1] == district_id]
            )
        assert body["errorSummary"]["totalErrors"] == job.failed_units

    page = admin_client.get(f"/admin/backfill/backfilljob/{job.pk}/status.json?grid=1")
    assert page.status_code == 200, page.content[:300]
    state = page.json()
    conforms(state, JOB_PAGE_STATUS)
    assert state["isTerminal"] is terminal and state["status"] == status
    counts = state["progress"]
    assert (
        counts["total"]
        == len(units)
        == sum(
            counts[k]
            for k in (
                "succeeded",
                "skipped",
                "unavailable",
                "failed",
                "cancelled",
                "waiting",
                "running",
                "pending",
            )
        )
    )
    progress = state["progress"]["districtProgress"]
    assert sorted(d["districtId"] for d in progress) == sorted(districts)
