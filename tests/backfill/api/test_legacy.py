"""backfill/api/legacy.py: the seeds' routes, bodies and status words, on the same services."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from backfill.api import legacy_responses
from backfill.api.jobs import WRITE_THROTTLE_SCOPE
from backfill.api.legacy_serializers import LEGACY_STATUS
from backfill.models import BackfillJob, CreatedVia, JobStatus, UnitStatus
from backfill.services import broker
from snapshots import store
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.snapshots.factories import full_statistics

pytestmark = pytest.mark.django_db
URL = "/api/districts/backfill"

# Seed 000's request bodies, as written there.
SEED_BODIES = [
    {
        "startDate": "2024-01-01",
        "endDate": "2024-01-30",
        "targetDistricts": ["42", "15"],
        "collectionType": "auto",
        "concurrency": 3,
        "retryFailures": True,
        "enableCaching": True,
    },
    {"startDate": "2024-01-01", "endDate": "2024-01-30"},
    {
        "targetDistricts": ["42", "15", "73"],
        "startDate": "2024-07-01",
        "endDate": "2024-12-31",
        "collectionType": "per-district",
        "concurrency": 5,
        "retryFailures": True,
        "enableCaching": True,
    },
    {"targetDistricts": ["42"], "startDate": "2024-01-01", "collectionType": "per-district"},
]
RESPONSE_KEYS = {
    "backfillId",
    "status",
    "scope",
    "progress",
    "collectionStrategy",
    "snapshotIds",
    "errorSummary",
    "partialSnapshots",
    "performanceStatus",
}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, snapshot_root):
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    return snapshot_root


def assert_deprecated(response, successor: str) -> None:
    assert response["Deprecation"].startswith("@")
    assert response["Sunset"].endswith("GMT")
    assert response["Link"] == f'<http://testserver{successor}>; rel="successor-version"'


@pytest.mark.parametrize("body", SEED_BODIES)
def test_seed_000_request_bodies_as_written_start_a_job(staff_client, body):
    response = staff_client.post(URL, body, format="json")
    assert response.status_code == 202, response.json()
    data = response.json()
    assert set(data) >= RESPONSE_KEYS
    assert data["status"] == "processing"
    job = BackfillJob.objects.get(pk=data["backfillId"])
    assert job.created_via == CreatedVia.LEGACY_API
    assert data["progress"]["total"] == job.total_units
    assert_deprecated(response, "/api/admin/backfill")


def test_the_response_has_seed_001_shapes(staff_client):
    data = staff_client.post(URL, SEED_BODIES[0], format="json").json()
    assert set(data["scope"]) == {
        "targetDistricts",
        "configuredDistricts",
        "scopeType",
        "validationPassed",
    }
    assert data["scope"]["scopeType"] == "targeted"
    strategy = data["collectionStrategy"]
    assert strategy["type"] == "per-district"
    assert strategy["refreshMethod"] == {
        "name": "getDistrictPerformance",
        "params": {"districtIds": ["42", "15"]},
    }
    assert strategy["targetDistricts"] == ["42", "15"] and strategy["rationale"]
    progress = data["progress"]
    assert set(progress) == {
        "total",
        "completed",
        "skipped",
        "unavailable",
        "failed",
        "current",
        "districtProgress",
        "partialSnapshots",
        "totalErrors",
        "retryableErrors",
        "permanentErrors",
    }
    district = progress["districtProgress"]["42"]
    assert district == {
        "districtId": "42",
        "status": "pending",
        "datesProcessed": 9,  # 2024-01-01..09: December 2023's closing period, unavailable
        "datesTotal": 30,
        "successfulDates": [],
        "failedDates": [],
        "retryCount": 0,
    }
    performance = data["performanceStatus"]
    assert set(performance["rateLimiter"]) == {
        "currentCount",
        "maxRequests",
        "windowMs",
        "nextResetAt",
    }
    assert set(performance["concurrencyLimiter"]) == {"activeSlots", "maxConcurrent", "queueLength"}
    assert set(performance["intermediateCache"]) == {"hitRate", "entryCount", "sizeBytes"}
    assert data["errorSummary"] == {
        "totalErrors": 0,
        "retryableErrors": 0,
        "permanentErrors": 0,
        "affectedDistricts": [],
        "partialSnapshots": 0,
    }


def test_a_partial_job_reports_its_errors_and_partial_snapshots(staff_client, no_broker):
    day = timezone.localdate().replace(year=2025, month=3, day=10)
    job = BackfillJobFactory(
        status=JobStatus.PARTIAL_SUCCESS,
        total_units=2,
        succeeded_units=1,
        failed_units=1,
        scope={"targetDistricts": ["42", "61"], "scopeType": "targeted"},
    )
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.SUCCEEDED, attempts=1)
    BackfillUnitFactory(
        job=job,
        district_id="61",
        status=UnitStatus.FAILED,
        attempts=3,
        error_type="fetch_failed",
        error_message="HTTP 500",
        retryable=True,
    )
    store.write_district(logical_date=day, statistics=full_statistics(logical_date=day))
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="per-district",
        scope=["42", "61"],
        job_id=job.pk,
        district_errors={"61": {"errorType": "fetch_failed", "message": "HTTP 500"}},
    )
    response = staff_client.get(f"{URL}/{job.pk}")
    data = response.json()
    assert data["status"] == "partial_success"
    assert data["error"].startswith("1 of 2 units failed")
    assert data["snapshotIds"] == ["2025-03-10"]
    assert data["partialSnapshots"] == [
        {
            "snapshotId": "2025-03-10",
            "successfulDistricts": ["42"],
            "failedDistricts": ["61"],
            "totalDistricts": 2,
            "successRate": 0.5,
        }
    ]
    assert data["errorSummary"]["affectedDistricts"] == ["61"]
    assert data["errorSummary"]["partialSnapshots"] == 1
    failed = data["progress"]["districtProgress"]["61"]
    assert failed["status"] == "failed" and failed["failedDates"] == ["2025-03-10"]
    assert failed["retryCount"] == 2 and failed["lastError"] == "HTTP 500"
    assert data["progress"]["districtProgress"]["42"]["status"] == "completed"
    assert_deprecated(response, f"/api/admin/backfill/{job.pk}")


@pytest.mark.parametrize(("job_status", "word"), list(LEGACY_STATUS.items()))
def test_job_states_map_to_the_legacy_status_words(staff_client, job_status, word):
    job = BackfillJobFactory(status=job_status)
    assert staff_client.get(f"{URL}/{job.pk}").json()["status"] == word


def test_every_job_state_has_a_legacy_word():
    assert set(LEGACY_STATUS) == set(JobStatus.values)


def test_cancel_answers_the_seed_body(staff_client):
    job_id = staff_client.post(URL, SEED_BODIES[1], format="json").json()["backfillId"]
    response = staff_client.delete(f"{URL}/{job_id}")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Backfill cancelled successfully",
        "backfillId": job_id,
    }
    assert_deprecated(response, f"/api/admin/backfill/{job_id}")
    conflict = staff_client.delete(f"{URL}/{job_id}")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "JOB_STATE_CONFLICT"
    assert conflict.json()["error"]["details"]["status"] == "cancelled"
    assert_deprecated(conflict, f"/api/admin/backfill/{job_id}")


def test_unknown_ids_get_404_with_the_deprecation_headers(staff_client):
    response = staff_client.get(f"{URL}/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": "No backfill job with id nope.", "details": {}}
    }
    assert_deprecated(response, "/api/admin/backfill/nope")


def test_bad_legacy_bodies_get_400_naming_the_field(staff_client):
    response = staff_client.post(URL, {"startDate": "01/01/2024", "foo": 1}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert set(error["details"]) == {"startDate", "foo"}
    assert error["message"] == "startDate: Invalid date '01/01/2024': use an ISO date, YYYY-MM-DD."
    assert error["details"]["startDate"] == [error["message"].removeprefix("startDate: ")]
    assert_deprecated(response, "/api/admin/backfill")


@pytest.mark.parametrize(
    ("method", "path", "body", "status_code", "code"),
    [
        ("post", URL, "{not json", 400, "MALFORMED_REQUEST"),
        ("put", URL, {}, 405, "METHOD_NOT_ALLOWED"),
        ("delete", f"{URL}/nope", None, 404, "NOT_FOUND"),
        ("post", "/api/districts/4x/backfill", {}, 400, "VALIDATION_ERROR"),
    ],
)
def test_every_legacy_error_has_the_old_backends_shape(
    staff_client, method, path, body, status_code, code
):
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    response = getattr(staff_client, method)(path, **kwargs)
    assert response.status_code == status_code
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"] and isinstance(error["details"], dict)
    assert response["Deprecation"].startswith("@")


def test_auth_errors_on_legacy_routes_have_the_old_shape(client, user_client):
    anonymous = client.get(f"{URL}/nope")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"]
    assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
    refused = user_client.post(URL, {"startDate": "2024-01-01"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert refused.json()["error"]["message"]
    assert refused["Sunset"].endswith("GMT")


def test_throttled_legacy_create_has_the_old_shape(staff_client, monkeypatch):
    cache.clear()
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, WRITE_THROTTLE_SCOPE, "1/min")
    staff_client.post(URL, {"startDate": "01/01/2024"}, format="json")
    response = staff_client.post(URL, {"startDate": "01/01/2024"}, format="json")
    assert response.status_code == 429 and response["Retry-After"]
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["details"]["retryAfterSeconds"] > 0
    assert error["message"].startswith("Request was throttled.")
    cache.clear()


def test_too_large_legacy_body_has_the_old_shape(staff_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = staff_client.post(URL, {"startDate": "2024-01-01", "x": "y" * 200}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_bug_on_a_legacy_route_answers_the_old_shape(staff_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(legacy_responses, "backfill_response", broken)
    staff_client.raise_request_exception = False
    job_id = BackfillJobFactory().pk
    response = staff_client.get(f"{URL}/{job_id}")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "INTERNAL_ERROR",
            "message": "Internal error; it has been logged.",
            "details": {},
        }
    }


def test_a_reused_idempotency_key_on_a_legacy_route_has_the_old_shape(staff_client):
    first = staff_client.post(URL, SEED_BODIES[1], format="json", HTTP_IDEMPOTENCY_KEY="legacy-key")
    other = staff_client.post(URL, SEED_BODIES[0], format="json", HTTP_IDEMPOTENCY_KEY="legacy-key")
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["details"] == {"jobId": first.json()["backfillId"]}


def test_the_job_api_keeps_its_own_error_shape(staff_client):
    response = staff_client.post("/api/admin/backfill", {"startDate": "x"}, format="json")
    assert response.status_code == 400 and "startDate" in response.json()
    assert "error" not in response.json()
    assert staff_client.get("/api/admin/backfill/nope").json().keys() == {"detail"}


@pytest.mark.parametrize("job_type", ["analytics-generation", "publish", "import"])
@pytest.mark.parametrize("path", [URL, "/api/districts/42/backfill"])
def test_other_job_types_are_refused_on_legacy_routes(staff_client, path, job_type):
    response = staff_client.post(
        path, {"jobType": job_type, "startDate": "2024-01-01"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["details"]) == ["jobType"]
    assert error["message"].startswith("jobType: The legacy routes start data collections only")
    assert not BackfillJob.objects.exists()


# The old district pages' routes


def test_district_route_starts_a_one_district_job(staff_client):
    response = staff_client.post(
        "/api/districts/42/backfill",
        {"startDate": "2024-01-01", "collectionType": "per-district"},
        format="json",
    )
    assert response.status_code == 202
    data = response.json()
    assert data["districtId"] == "42" and data["scope"]["scopeType"] == "single-district"
    assert data["scope"]["targetDistricts"] == ["42"]
    job_id = data["backfillId"]
    got = staff_client.get(f"/api/districts/42/backfill/{job_id}")
    assert got.status_code == 200 and got.json()["districtId"] == "42"
    assert staff_client.get(f"/api/districts/61/backfill/{job_id}").status_code == 404
    cancelled = staff_client.delete(f"/api/districts/42/backfill/{job_id}")
    assert cancelled.json() == {
        "success": True,
        "message": "Backfill cancelled successfully",
        "backfillId": job_id,
        "districtId": "42",
    }


def test_district_route_refuses_other_targets_and_bad_ids(staff_client):
    response = staff_client.post(
        "/api/districts/42/backfill",
        {"startDate": "2024-01-01", "targetDistricts": ["61"]},
        format="json",
    )
    assert response.status_code == 400
    assert "targetDistricts" in response.json()["error"]["details"]
    response = staff_client.post(
        "/api/districts/42/backfill",
        {"startDate": "2024-01-01", "targetDistricts": [42]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("targetDistricts: ")
    response = staff_client.post("/api/districts/4242/backfill", {"startDate": "2024-01-01"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("districtId: Invalid district id")


@pytest.mark.parametrize(
    ("path_id", "targets"), [("06", ["6"]), ("6", ["06"]), ("06", ["06"]), ("f", ["F"])]
)
def test_district_routes_echo_the_path_id_and_take_either_spelling(staff_client, path_id, targets):
    response = staff_client.post(
        f"/api/districts/{path_id}/backfill",
        {"startDate": "2024-01-01", "targetDistricts": targets},
        format="json",
    )
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["districtId"] == path_id
    canonical = path_id.upper() if path_id.isalpha() else str(int(path_id))
    assert data["scope"]["targetDistricts"] == [canonical]
    url = f"/api/districts/{path_id}/backfill/{data['backfillId']}"
    assert staff_client.get(url).json()["districtId"] == path_id
    assert staff_client.delete(url).json()["districtId"] == path_id


def test_the_schema_documents_the_legacy_error_shape(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    error = schema["components"]["schemas"]["LegacyError"]
    assert error["required"] == ["error"]
    body = schema["components"]["schemas"]["LegacyErrorBody"]
    assert set(body["required"]) == {"code", "message", "details"}
    legacy = [path for path in schema["paths"] if path.startswith("/api/districts/")]
    assert len(legacy) == 4
    for path in legacy:
        for method, operation in schema["paths"][path].items():
            errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
            assert {"401", "403"} <= set(errors), (path, method)
            for code, response in errors.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/LegacyError", (path, method, code)
    job_api = schema["paths"]["/api/admin/backfill/{job_id}"]["get"]["responses"]["404"]
    assert "LegacyError" not in str(job_api)
