"""The `Idempotency-Key` header of the create routes (backfill/services/idempotency.py): the same
key and body within 24 hours get the first job (200), another body a 409, and requests racing
with one key create one job (the database's unique constraint decides)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from backfill.models import BackfillJob, IdempotencyKey
from backfill.services import cleanup, planning
from tests.fixtures.api import staff_member

pytestmark = pytest.mark.usefixtures("sent")

URL = "/api/admin/backfill"
BODY = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42"]}


def create(client, body=BODY, key: str | None = "key-1", url: str = URL):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **headers)


def test_the_same_key_and_body_answer_the_first_job_with_200(staff_client):
    first = create(staff_client)
    again = create(staff_client)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["jobId"] == first.json()["jobId"]
    assert again["Location"] == first["Location"]
    assert BackfillJob.objects.count() == 1


def test_the_same_key_with_another_body_is_a_409_naming_the_first_job(staff_client):
    first = create(staff_client).json()["jobId"]

    other = create(staff_client, {**BODY, "endDate": "2025-03-12"})

    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["jobId"] == first
    assert "another request" in other.json()["detail"]
    assert BackfillJob.objects.count() == 1


def test_without_a_key_every_create_is_a_new_job(staff_client):
    assert [create(staff_client, key=None).status_code for _ in range(2)] == [202, 202]
    assert BackfillJob.objects.count() == 2


def test_keys_belong_to_their_user(staff_client, token_client):
    assert create(staff_client).status_code == 202
    assert create(token_client).status_code == 202
    assert BackfillJob.objects.count() == 2


def test_a_key_is_kept_24_hours(staff_client):
    first = create(staff_client).json()["jobId"]
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=23)
    )
    assert create(staff_client).json()["jobId"] == first

    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=2)
    )
    later = create(staff_client)

    assert later.status_code == 202 and later.json()["jobId"] != first
    assert IdempotencyKey.objects.get().job_id == uuid.UUID(later.json()["jobId"])


def test_cleanup_forgets_expired_keys(staff_client):
    create(staff_client)
    assert cleanup.cleanup_jobs()["idempotencyKeys"] == 0
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25)
    )
    assert cleanup.cleanup_jobs()["idempotencyKeys"] == 1


def test_a_request_that_fails_validation_does_not_use_up_its_key(staff_client):
    bad = create(staff_client, {**BODY, "endDate": "2025-03-01"})
    assert bad.status_code == 400 and not IdempotencyKey.objects.exists()
    assert create(staff_client).status_code == 202


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_a_400(staff_client, key):
    client = staff_client
    response = client.post(
        URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert response.status_code == 400
    assert "visible ASCII" in response.json()["Idempotency-Key"][0]
    assert not BackfillJob.objects.exists()


def test_the_legacy_create_routes_honour_the_key(staff_client):
    legacy = "/api/districts/backfill"
    first = create(staff_client, url=legacy)
    again = create(staff_client, url=legacy)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["backfillId"] == first.json()["backfillId"]
    assert again["Deprecation"]

    district = "/api/districts/42/backfill"
    body = {"startDate": "2025-03-10"}
    one = create(staff_client, body, key="key-2", url=district)
    assert create(staff_client, body, key="key-2", url=district).status_code == 200
    # The same key and body on another route is another request.
    assert (
        create(staff_client, body, key="key-2", url="/api/districts/61/backfill").status_code == 409
    )
    assert BackfillJob.objects.count() == 2 and one.status_code == 202


def test_the_schema_documents_the_header_and_its_answers(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/admin/backfill",
        "/api/districts/backfill",
        "/api/districts/{district_id}/backfill",
    ):
        operation = schema["paths"][path]["post"]
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and not header.get("required")
        assert {"200", "202", "409"} <= set(operation["responses"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_job(monkeypatch):
    """Four clients send the same key at once while planning is slow: the first holds the key
    until its job is committed, the others wait on the unique constraint and get that job."""
    user = staff_member("racer")
    plan = planning.plan

    def slow_plan(request):
        time.sleep(0.3)
        return plan(request)

    monkeypatch.setattr(planning, "plan", slow_plan)
    barrier = threading.Barrier(4)
    answers: list = []

    def send() -> None:
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            answers.append(create(client))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
    assert len({a.json()["jobId"] for a in answers}) == 1
    assert BackfillJob.objects.count() == 1
