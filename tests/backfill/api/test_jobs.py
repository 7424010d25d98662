"""backfill/api/jobs.py: the job API, every endpoint, status code and error body.

The engine's messages to Celery are recorded instead of sent (the end-to-end tests with a real
worker are in tests/e2e/test_api_e2e.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from backfill import limits
from backfill.models import BackfillJob, BackfillUnit, CreatedVia, JobStatus, UnitStatus
from backfill.selectors import jobs as job_reads
from backfill.selectors import performance
from backfill.services import broker, dispatch, units
from districts import services as district_services
from tests.factories import BackfillJobFactory, BackfillUnitFactory

pytestmark = pytest.mark.django_db
URL = "/api/admin/backfill"
REQUEST = {"startDate": "2025-03-10", "endDate": "2025-03-12", "targetDistricts": ["42", "61"]}


@pytest.fixture(autouse=True)
def sent(monkeypatch, snapshot_root) -> list[tuple[str, tuple]]:
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: calls.append((task, args))
    )
    return calls


def create(client: APIClient, body: dict | None = None):
    return client.post(URL, body or REQUEST, format="json")


def started(job_id: str) -> BackfillJob:
    dispatch.start_queued_jobs()
    return BackfillJob.objects.get(pk=job_id)


def partial_job() -> BackfillJob:
    job = BackfillJobFactory(
        status=JobStatus.PARTIAL_SUCCESS,
        total_units=2,
        succeeded_units=1,
        failed_units=1,
        finished_at=timezone.now(),
        scope={"targetDistricts": ["42", "61"], "scopeType": "targeted"},
    )
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.SUCCEEDED)
    BackfillUnitFactory(
        job=job,
        district_id="61",
        status=UnitStatus.FAILED,
        error_type="fetch_failed",
        retryable=True,
        attempts=3,
    )
    return job


# POST /api/admin/backfill


def test_create_answers_202_with_the_job_and_its_location(staff_client, staff_user):
    response = create(staff_client)
    assert response.status_code == 202
    body = response.json()
    job = BackfillJob.objects.get(pk=body["jobId"])
    assert response["Location"] == f"http://testserver{URL}/{job.pk}"
    assert (job.created_via, job.created_by) == (CreatedVia.API, staff_user)
    assert body["status"] == "pending" and body["jobType"] == "data-collection"
    assert body["createdVia"] == "api" and body["createdBy"] == "staff"
    assert body["collectionStrategy"]["type"] == "per-district"
    assert "2 targeted districts" in body["collectionStrategy"]["rationale"]
    assert body["scope"]["scopeType"] == "targeted"
    assert body["progress"]["total"] == 6 and body["progress"]["pending"] == 6
    assert [d["districtId"] for d in body["progress"]["districtProgress"]] == ["42", "61"]
    assert body["request"]["reprocess"] == "missing"
    assert body["waiting"]["position"] == 1 and body["waiting"]["waitingBehind"] == []


def test_a_job_behind_another_says_it_waits_and_behind_which(staff_client):
    running = started(create(staff_client).json()["jobId"])
    assert running.status == JobStatus.RUNNING
    body = create(staff_client, {**REQUEST, "startDate": "2025-03-01"}).json()
    assert body["status"] == "pending"
    assert body["waiting"]["waitingBehind"] == [str(running.pk)]
    assert "behind 1 running job" in body["waiting"]["reason"]
    # The admin's "why is this not running" sentence, from the same selector.
    assert body["whyNotRunning"] == body["waiting"]["reason"]
    assert body["whyNotRunning"].startswith(f"Queued behind normal job {running.pk} (position 1")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"startDate"}),
        ({"startDate": "2025-W11-1"}, {"startDate"}),
        ({"startDate": "20250310"}, {"startDate"}),
        ({"startDate": "2025-03-10", "endDate": "2025-03-01"}, {"endDate"}),
        ({"startDate": "2025-03-10", "districts": ["42"]}, {"districts"}),
        ({"startDate": "2025-03-10", "targetDistricts": ["4242"]}, {"targetDistricts"}),
        ({"startDate": "2025-03-10", "reprocess": "everything"}, {"reprocess"}),
        ({"startDate": "nope", "concurrency": "3", "enableCaching": 1}, None),
    ],
)
def test_bad_requests_get_400_naming_every_bad_field(staff_client, body, fields):
    response = create(staff_client, body) if body else staff_client.post(URL, {}, format="json")
    assert response.status_code == 400
    errors = response.json()
    if fields is None:
        assert set(errors) == {"startDate", "concurrency", "enableCaching"}
    else:
        assert fields <= set(errors)
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)
    assert not BackfillJob.objects.exists()


def test_a_body_that_is_not_json_or_not_an_object_gets_400(staff_client):
    response = staff_client.post(URL, "startDate=2025-03-10", content_type="text/plain")
    assert response.status_code == 415
    response = staff_client.post(URL, "[1, 2]", content_type="application/json")
    assert response.status_code == 400 and "nonFieldErrors" in response.json()
    response = staff_client.post(URL, "{nope", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_targets_outside_the_configured_scope_leave_nothing_and_are_a_400(staff_client):
    district_services.set_configured_districts(district_ids=["7"])
    response = create(staff_client, {"startDate": "2025-03-10", "targetDistricts": ["42"]})
    assert response.status_code == 400
    assert response.json() == {"targetDistricts": ["No valid districts to process."]}


def test_wrong_method_gets_405(staff_client):
    assert staff_client.put(URL, REQUEST, format="json").status_code == 405
    assert staff_client.get(URL).status_code == 405
    assert staff_client.post(f"{URL}/jobs", {}, format="json").status_code == 405


def test_writes_are_throttled_and_reads_are_not(staff_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"backfill-write": "2/min"})
    assert [create(staff_client).status_code for _ in range(3)] == [202, 202, 429]
    assert "Retry-After" in create(staff_client)
    job_id = BackfillJob.objects.first().pk
    assert staff_client.get(f"{URL}/{job_id}").status_code == 200


def test_session_writes_need_the_csrf_token(staff_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(URL, REQUEST, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


# GET /api/admin/backfill/<jobId>


def test_status_reports_progress_errors_snapshots_and_performance(staff_client):
    job = partial_job()
    body = staff_client.get(f"{URL}/{job.pk}").json()
    assert body["status"] == "partial_success"
    progress = body["progress"]
    assert (progress["total"], progress["succeeded"], progress["failed"]) == (2, 1, 1)
    assert progress["percent"] == 100.0 and progress["etaSeconds"] is None
    assert progress["currentDate"] is None
    assert {d["districtId"]: d["failed"] for d in progress["districtProgress"]} == {
        "42": 0,
        "61": 1,
    }
    assert body["errorSummary"] == {
        "totalErrors": 1,
        "retryableErrors": 1,
        "permanentErrors": 0,
        "byType": {"fetch_failed": 1},
        "affectedDistricts": ["61"],
        "partialSnapshots": 0,
    }
    assert body["snapshotIds"] == [] and body["partialSnapshots"] == []
    performance = body["performanceStatus"]
    assert set(performance) >= {"rateLimiter", "circuitBreaker", "concurrency"}
    assert performance["intermediateCache"]["hitRate"] is not None
    assert body["waiting"] is None


def test_status_of_a_running_job_has_its_current_date_and_eta(staff_client):
    job = started(create(staff_client).json()["jobId"])
    unit = job.units.filter(status=UnitStatus.RUNNING).order_by("logical_date").first()
    units.finish_unit(unit_id=unit.pk, status=UnitStatus.SUCCEEDED, token=unit.lease_token)
    BackfillJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=5))
    progress = staff_client.get(f"{URL}/{job.pk}").json()["progress"]
    assert progress["currentDate"] == "2025-03-10"
    assert progress["succeeded"] == 1 and progress["etaSeconds"] > 0
    assert progress["estimatedCompletionAt"] is not None


@pytest.mark.parametrize("job_id", ["9b2f7a52-0000-4000-8000-000000000000", "not-a-job", "1"])
def test_unknown_job_ids_get_404(staff_client, job_id):
    for method in ("get", "delete"):
        response = getattr(staff_client, method)(f"{URL}/{job_id}")
        assert response.status_code == 404
        assert "No backfill job" in response.json()["detail"]
    for action in ("retry", "pause", "resume"):
        assert staff_client.post(f"{URL}/{job_id}/{action}").status_code == 404


# DELETE, retry, pause, resume


def test_cancel_answers_202_and_a_finished_job_409_with_its_state(staff_client):
    job_id = create(staff_client).json()["jobId"]
    response = staff_client.delete(f"{URL}/{job_id}")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    response = staff_client.delete(f"{URL}/{job_id}")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "cancelled" and body["action"] == "cancel"
    assert body["code"] == "job_state_conflict" and body["jobId"] == job_id


def test_retry_queues_the_failed_units_and_refuses_an_active_job(staff_client):
    job = partial_job()
    response = staff_client.post(f"{URL}/{job.pk}/retry")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["progress"]["pending"] == 1
    response = staff_client.post(f"{URL}/{job.pk}/retry")
    assert response.status_code == 409 and response.json()["status"] == "pending"


def test_pause_and_resume_keep_the_checkpoint_and_refuse_wrong_states(staff_client):
    job = started(create(staff_client).json()["jobId"])
    in_flight = job.units.filter(status=UnitStatus.RUNNING).count()
    response = staff_client.post(f"{URL}/{job.pk}/pause")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "paused" and "resumed" in body["waiting"]["reason"]
    conflict = staff_client.post(f"{URL}/{job.pk}/pause")
    assert conflict.status_code == 409 and conflict.json()["status"] == "paused"

    # Units in flight finish and are counted; nothing new is dispatched.
    for unit in job.units.filter(status=UnitStatus.RUNNING):
        units.finish_unit(unit_id=unit.pk, status=UnitStatus.SUCCEEDED, token=unit.lease_token)
    assert job.units.filter(status=UnitStatus.RUNNING).count() == 0
    assert job.units.filter(status=UnitStatus.SUCCEEDED).count() == in_flight

    response = staff_client.post(f"{URL}/{job.pk}/resume")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    conflict = staff_client.post(f"{URL}/{job.pk}/resume")
    assert conflict.status_code == 409 and conflict.json()["status"] == "pending"
    job = started(job.pk)
    assert job.status == JobStatus.RUNNING
    assert job.units.filter(status=UnitStatus.RUNNING).count() > 0


def test_a_paused_job_does_not_hold_the_queue(staff_client):
    first = started(create(staff_client).json()["jobId"])
    second_id = create(staff_client, {**REQUEST, "startDate": "2025-03-01"}).json()["jobId"]
    staff_client.post(f"{URL}/{first.pk}/pause")
    assert started(second_id).status == JobStatus.RUNNING


# GET /api/admin/backfill/jobs


def test_history_is_newest_first_with_filters_count_and_pages(staff_client):
    old = BackfillJobFactory(status=JobStatus.COMPLETED, created_via=CreatedVia.CLI)
    BackfillJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = BackfillJobFactory(status=JobStatus.FAILED, created_via=CreatedVia.API)
    body = staff_client.get(f"{URL}/jobs").json()
    assert [j["jobId"] for j in body["jobs"]] == [str(new.pk), str(old.pk)]
    assert body["count"] == 2 and body["limit"] == 20 and body["offset"] == 0

    def ids(query: str) -> list[str]:
        return [j["jobId"] for j in staff_client.get(f"{URL}/jobs?{query}").json()["jobs"]]

    assert ids("status=failed") == [str(new.pk)]
    assert ids("createdVia=cli") == [str(old.pk)]
    assert ids("jobType=analytics-generation") == []
    assert ids("limit=1&offset=1") == [str(old.pk)]
    assert staff_client.get(f"{URL}/jobs?limit=1").json()["count"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "status=done",
        "limit=0",
        "limit=501",
        "offset=-1",
        "jobType=x",
        "createdVia=y",
        # Empty values were read as absent (a 200 listing every job).
        "status=",
        "jobType=",
        "createdVia=",
        "limit=",
        "offset=",
    ],
)
def test_bad_history_filters_get_400_naming_the_parameter(staff_client, query):
    response = staff_client.get(f"{URL}/jobs?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


# POST /api/admin/backfill/preview


def test_preview_writes_nothing_and_lists_every_date(staff_client):
    response = staff_client.post(
        f"{URL}/preview",
        {"startDate": "2026-03-04", "endDate": "2026-03-07", "targetDistricts": ["42"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert not BackfillJob.objects.exists() and not BackfillUnit.objects.exists()
    assert body["collectionStrategy"]["type"] == "per-district"
    assert (body["totalUnits"], body["unavailableUnits"], body["pendingUnits"]) == (4, 2, 2)
    # Three per district and date, and each fetched date's all-districts summary.
    assert body["requests"] == 8 and body["estimatedDurationSeconds"] > 0
    assert [(d["date"], d["plan"]) for d in body["dates"]] == [
        ("2026-03-04", "unavailable"),
        ("2026-03-05", "unavailable"),
        ("2026-03-06", "fetch"),
        ("2026-03-07", "fetch"),
    ]
    assert "closing period" in body["dates"][0]["reason"]
    assert body["dates"][2]["reason"] == "will fetch"


@pytest.mark.parametrize("path", ["", "/preview", "LEGACY"])
def test_an_integer_where_a_district_id_string_is_expected_is_a_400(staff_client, path):
    """`targetDistricts: [0]` was a 202 (read as district "0"), on create, preview and the
    legacy create alike."""
    url = "/api/districts/backfill" if path == "LEGACY" else f"{URL}{path}"
    body = {"startDate": "2025-03-10", "targetDistricts": [0]}
    response = staff_client.post(url, body, format="json")
    assert response.status_code == 400
    assert "targetDistricts" in response.content.decode()
    assert not BackfillJob.objects.exists()


def test_a_400_names_only_fields_the_client_sent(staff_client):
    response = create(staff_client, {"startDate": "2099-01-01"})
    assert response.status_code == 400
    assert set(response.json()) == {"startDate"}


def test_the_errors_of_one_request_are_reported_together(staff_client):
    body = {"startDate": "2025-03-10", "endDate": "2025-03-01", "concurrency": 0}
    for url in (URL, f"{URL}/preview"):
        response = staff_client.post(url, body, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"endDate", "concurrency"}


def test_preview_refuses_what_create_refuses(staff_client):
    response = staff_client.post(f"{URL}/preview", {"startDate": "x"}, format="json")
    assert response.status_code == 400 and "startDate" in response.json()


# GET|PUT|PATCH /api/admin/backfill/config/rate-limit

CONFIG_URL = f"{URL}/config/rate-limit"
SEED_LIMITS = {
    "maxRequests": 10,
    "windowMs": 60000,
    "minDelayMs": 2000,
    "maxDelayMs": 30000,
    "backoffMultiplier": 2.0,
    "maxConcurrent": 3,
}


def test_rate_limit_config_reads_the_seed_defaults(staff_client):
    body = staff_client.get(CONFIG_URL).json()
    assert {k: body[k] for k in SEED_LIMITS} == SEED_LIMITS and body["updatedAt"]


def test_put_replaces_the_config_and_this_process_sees_it_at_once(staff_client):
    limits.current_settings()  # cached
    response = staff_client.put(CONFIG_URL, {**SEED_LIMITS, "maxRequests": 30}, format="json")
    assert response.status_code == 200 and response.json()["maxRequests"] == 30
    assert limits.current_settings().max_requests == 30
    assert performance.rate_limit_config().max_requests == 30


def test_patch_changes_only_the_fields_given(staff_client):
    response = staff_client.patch(CONFIG_URL, {"minDelayMs": 500}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        **SEED_LIMITS,
        "minDelayMs": 500,
        "updatedAt": response.json()["updatedAt"],
    }


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("put", {"maxRequests": 10}, "windowMs"),
        ("patch", {"maxRequests": 0}, "maxRequests"),
        # Over 60 per minute once the minimum delay no longer holds the rate down.
        ("patch", {"maxRequests": 61, "minDelayMs": 0}, "maxRequests"),
        ("patch", {"maxRequests": 2, "windowMs": 1000, "minDelayMs": 500}, "maxRequests"),
        ("patch", {"minDelayMs": 40000}, "minDelayMs"),  # above maxDelayMs
        ("patch", {"maxDelayMs": 1000}, "minDelayMs"),
        ("patch", {"backoffMultiplier": 0.5}, "backoffMultiplier"),
        ("patch", {"maxConcurrent": "3"}, "maxConcurrent"),
        ("patch", {"maxConcurrent": 51}, "maxConcurrent"),  # the admin's bound too
        ("patch", {"burst": 3}, "burst"),
    ],
)
def test_bad_rate_limits_get_400_and_change_nothing(staff_client, method, body, field):
    response = getattr(staff_client, method)(CONFIG_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert performance.rate_limit_config().max_requests == 10


def test_the_api_and_the_admin_apply_one_rule_to_the_rate(staff_client):
    # 10 per 5 s would be 120 per minute, but 2 s apart keeps it at 30: the limiter grants a
    # request only when both allow it, and so do the model (the admin) and the API.
    response = staff_client.patch(
        CONFIG_URL, {"maxRequests": 10, "windowMs": 5000, "minDelayMs": 2000}, format="json"
    )
    assert response.status_code == 200, response.json()
    response = staff_client.patch(CONFIG_URL, {"minDelayMs": 0}, format="json")
    assert response.status_code == 400
    assert "120 requests per minute" in response.json()["maxRequests"][0]


def test_a_setting_allows_a_faster_limit(staff_client, settings):
    settings.BACKFILL_MAX_REQUESTS_PER_MINUTE = 120
    response = staff_client.patch(CONFIG_URL, {"maxRequests": 120}, format="json")
    assert response.status_code == 200


# Errors never leak


def test_an_unexpected_error_is_a_generic_500_without_a_trace(staff_client, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("secret path /etc/passwd")

    monkeypatch.setattr(job_reads, "job_detail", boom)
    response = staff_client.get(f"{URL}/{BackfillJobFactory().pk}")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal error; it has been logged.",
        "code": "server_error",
    }
