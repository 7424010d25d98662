"""The job API against the real engine: PostgreSQL, the Redis broker, a Celery worker process and
the simulator over HTTP. Every action goes through HTTP; the test only reads the database to
check what the API said."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection

from backfill.models import BackfillJob, UnitStatus
from snapshots import store

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/admin/backfill"
TERMINAL = {"completed", "partial_success", "failed", "cancelled"}


def poll(client, job_id: str, until, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"{URL}/{job_id}")
        assert response.status_code == 200
        body = response.json()
        if until(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never got there: {body['status']} {body['progress']}")


def finished(client, job_id: str, timeout: float = 60) -> dict:
    return poll(client, job_id, lambda b: b["status"] in TERMINAL, timeout)


def exports(simulator) -> int:
    return sum(1 for r in simulator.requests() if "export.aspx" in r["path"])


def test_create_then_watch_the_job_finish(celery_worker_process, simulator, staff_client):
    response = staff_client.post(
        URL,
        {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42", "61"]},
        format="json",
    )
    assert response.status_code == 202
    body = finished(staff_client, response.json()["jobId"])
    assert body["status"] == "completed"
    assert body["progress"]["succeeded"] == 4 and body["progress"]["percent"] == 100.0
    assert body["snapshotIds"] == ["2025-03-10", "2025-03-11"]
    assert body["errorSummary"]["totalErrors"] == 0
    assert body["startedAt"] and body["finishedAt"] and body["waiting"] is None
    assert exports(simulator) == 4 * 3 + 2  # and each date's all-districts summary


def test_pause_lets_units_in_flight_finish_and_resume_continues(
    celery_worker_process, simulator, staff_client
):
    simulator.set_faults(latency_ms=150)
    job_id = staff_client.post(
        URL,
        {
            "startDate": "2025-03-10",
            "endDate": "2025-03-17",
            "targetDistricts": ["42", "61", "F"],
            "concurrency": 2,
        },
        format="json",
    ).json()["jobId"]
    poll(staff_client, job_id, lambda b: b["progress"]["succeeded"] >= 1)
    response = staff_client.post(f"{URL}/{job_id}/pause")
    assert response.status_code == 202 and response.json()["status"] == "paused"

    paused = poll(staff_client, job_id, lambda b: b["progress"]["running"] == 0, timeout=20)
    assert paused["status"] == "paused" and paused["progress"]["cancelled"] == 0
    done_at_pause = paused["progress"]["succeeded"]
    assert done_at_pause < 24
    seen = exports(simulator)
    time.sleep(1.5)
    still = staff_client.get(f"{URL}/{job_id}").json()
    assert still["progress"]["succeeded"] == done_at_pause  # nothing dispatched while paused
    assert exports(simulator) == seen

    assert staff_client.post(f"{URL}/{job_id}/resume").status_code == 202
    body = finished(staff_client, job_id, timeout=90)
    assert body["status"] == "completed"
    assert body["progress"]["succeeded"] == 24 and body["progress"]["cancelled"] == 0
    job = BackfillJob.objects.get(pk=job_id)
    assert sorted(job.units.values_list("attempts", flat=True)) == [1] * 24


def test_cancel_through_the_api_stops_the_job(celery_worker_process, simulator, staff_client):
    simulator.set_faults(latency_ms=200)
    job_id = staff_client.post(
        URL,
        {"startDate": "2025-03-01", "endDate": "2025-03-20", "targetDistricts": ["42", "61"]},
        format="json",
    ).json()["jobId"]
    poll(staff_client, job_id, lambda b: b["status"] == "running")
    response = staff_client.delete(f"{URL}/{job_id}")
    assert response.status_code == 202
    assert response.json()["status"] in ("cancelling", "cancelled")
    body = finished(staff_client, job_id, timeout=15)
    assert body["status"] == "cancelled" and body["progress"]["cancelled"] > 0
    again = staff_client.delete(f"{URL}/{job_id}")
    assert again.status_code == 409 and again.json()["status"] == "cancelled"


def test_retry_turns_a_partial_job_complete(celery_worker_process, simulator, staff_client):
    simulator.set_faults(error_status=500, error_rate=1.0, districts=["61"])
    job_id = staff_client.post(
        URL, {"startDate": "2025-03-10", "targetDistricts": ["42", "61"]}, format="json"
    ).json()["jobId"]
    body = finished(staff_client, job_id)
    assert body["status"] == "partial_success"
    assert body["errorSummary"]["affectedDistricts"] == ["61"]
    assert body["errorSummary"]["byType"] == {"fetch_failed": 1}
    assert body["partialSnapshots"][0]["snapshotId"] == "2025-03-10"
    assert body["partialSnapshots"][0]["successRate"] == 0.5

    simulator.clear_faults()
    assert staff_client.post(f"{URL}/{job_id}/retry").status_code == 202
    body = finished(staff_client, job_id)
    assert body["status"] == "completed" and body["errorSummary"]["totalErrors"] == 0
    assert body["partialSnapshots"] == []


def run_as_previewed(client, simulator, request: dict) -> dict:
    """Preview `request`, run it as a job, and check the job did exactly what the preview said:
    the same units fetched per date and the same number of requests."""
    preview = client.post(f"{URL}/preview", request, format="json").json()
    before = exports(simulator)
    job_id = client.post(URL, request, format="json").json()["jobId"]
    body = finished(client, job_id)
    job = BackfillJob.objects.get(pk=job_id)
    ran = {}
    for unit in job.units.filter(status__in=(UnitStatus.SUCCEEDED, UnitStatus.FAILED)):
        ran[unit.logical_date.isoformat()] = ran.get(unit.logical_date.isoformat(), 0) + 1
    planned = {d["date"]: d["pendingUnits"] for d in preview["dates"] if d["pendingUnits"]}
    assert ran == planned
    assert body["progress"]["skipped"] == preview["skippedUnits"]
    assert exports(simulator) - before == preview["requests"]
    return preview


def test_each_reprocess_choice_does_what_its_preview_says(
    celery_worker_process, simulator, staff_client
):
    targets = ["42", "61"]
    # 2025-03-10 stored completed, 2025-03-11 partial (61 failed), 2025-03-12 not stored.
    finished(
        staff_client,
        staff_client.post(
            URL, {"startDate": "2025-03-10", "targetDistricts": targets}, format="json"
        ).json()["jobId"],
    )
    simulator.set_faults(error_status=500, error_rate=1.0, districts=["61"])
    finished(
        staff_client,
        staff_client.post(
            URL,
            {"startDate": "2025-03-11", "targetDistricts": targets, "retryFailures": False},
            format="json",
        ).json()["jobId"],
    )
    simulator.clear_faults()
    # Without the response cache every planned request reaches the simulator.
    request = {
        "startDate": "2025-03-10",
        "endDate": "2025-03-12",
        "targetDistricts": targets,
        "enableCaching": False,
    }

    failed = run_as_previewed(staff_client, simulator, {**request, "reprocess": "failed"})
    assert [(d["date"], d["pendingUnits"]) for d in failed["dates"]] == [
        ("2025-03-10", 0),
        ("2025-03-11", 1),
        ("2025-03-12", 0),
    ]
    assert "nothing stored" in failed["dates"][2]["reason"]
    assert store.read_manifest(logical_date=date(2025, 3, 11))["status"] == "completed"

    missing = run_as_previewed(staff_client, simulator, {**request, "reprocess": "missing"})
    assert missing["pendingUnits"] == 2  # only 2025-03-12 was left

    everything = run_as_previewed(staff_client, simulator, {**request, "reprocess": "all"})
    assert everything["pendingUnits"] == 6 and everything["skippedUnits"] == 0


def test_two_identical_creates_at_once_download_every_export_once(
    celery_worker_process, simulator, staff_client
):
    """Two identical jobs created at once: the second finds each (date, district) stored by the
    first when its unit starts and skips it, without a request to the dashboard. Without the
    response cache, which would hide the second download."""
    request = {
        "startDate": "2025-03-10",
        "endDate": "2025-03-15",
        "targetDistricts": ["42", "61"],
        "enableCaching": False,
    }
    barrier = threading.Barrier(2)
    answers: list = []

    def create() -> None:
        barrier.wait()
        try:
            answers.append(staff_client.post(URL, request, format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [202, 202]
    first, second = sorted(
        (BackfillJob.objects.get(pk=a.json()["jobId"]) for a in answers),
        key=lambda job: job.created_at,
    )
    assert finished(staff_client, str(first.pk))["status"] == "completed"
    body = finished(staff_client, str(second.pk))

    print(
        f"\nrequests sent by two identical creates (36 exports, 6 summaries): {exports(simulator)}"
    )
    # Six dates x two districts x three reports, and each date's summary, once.
    assert exports(simulator) == 6 * 2 * 3 + 6
    assert body["status"] == "completed" and body["progress"]["skipped"] == 12
    reasons = set(second.units.values_list("status", "error_message", "requests_made"))
    assert reasons == {
        (UnitStatus.SKIPPED, f"stored meanwhile by job {first.pk}, after this job was planned", 0)
    }
