"""The old front end's hooks (seed 001's `useBackfill` / `useDistrictBackfill`) against both
legacy routes, over a Celery worker process, PostgreSQL, Redis and the simulator over HTTP.

`OldFrontEnd` does what the hooks do: initiate, poll the status every 2 s until `complete` or
`error` (their stop rule), cancel, and show `error.response.data.error.message` or, when there
is none, "Failed to initiate backfill". The district pages compare `districtId` with their URL.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from backfill.models import BackfillJob

pytestmark = pytest.mark.django_db(transaction=True)

FALLBACK = "Failed to initiate backfill"
STATUS_WORDS = {"processing", "complete", "error", "cancelled", "partial_success"}


class OldFrontEnd:
    """A twin of the old hooks: the global ones, or a district page's (`district_id` as the
    page's URL writes it)."""

    POLL_SECONDS = 2.0  # the hooks' refetchInterval
    STOP = ("complete", "error")  # the hooks stop polling on these only

    def __init__(self, client, district_id: str | None = None):
        self.client = client
        self.district_id = district_id
        self.base = (
            f"/api/districts/{district_id}/backfill" if district_id else "/api/districts/backfill"
        )
        self.shown_error: str | None = None

    def initiate(self, body: dict[str, Any]) -> dict[str, Any] | None:
        response = self.client.post(self.base, body, format="json")
        if response.status_code >= 400:
            self.shown_error = self.error_message(response.json())
            return None
        data = response.json()
        self.check(data)
        return data

    @staticmethod
    def error_message(data: Any) -> str:
        """`error.response?.data?.error?.message || 'Failed to initiate backfill'`."""
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return message if isinstance(message, str) and message else FALLBACK

    def check(self, data: dict[str, Any]) -> None:
        assert data["status"] in STATUS_WORDS
        if self.district_id is not None:
            assert data["districtId"] == self.district_id  # the page compares it with its URL

    def poll(self, backfill_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Every answer until the stop rule holds."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.client.get(f"{self.base}/{backfill_id}")
            assert response.status_code == 200, response.json()
            data = response.json()
            self.check(data)
            seen.append(data)
            if data["status"] in self.STOP:
                return seen
            time.sleep(self.POLL_SECONDS)
        raise AssertionError(f"never stopped: {[d['status'] for d in seen]}")

    def cancel(self, backfill_id: str) -> dict[str, Any]:
        response = self.client.delete(f"{self.base}/{backfill_id}")
        assert response.status_code == 200, response.json()
        return response.json()


@pytest.mark.parametrize("district_id", [None, "06"])
def test_the_old_front_end_runs_a_backfill_to_complete(
    celery_worker_process, simulator, staff_client, district_id
):
    ui = OldFrontEnd(staff_client, district_id)
    body = {"startDate": "2025-03-10"}
    if district_id is None:
        body["targetDistricts"] = ["42", "06"]
    else:
        body["targetDistricts"] = ["6"]  # the other spelling of the page's id
    started = ui.initiate(body)
    assert started is not None, ui.shown_error
    assert started["status"] == "processing"

    answers = ui.poll(started["backfillId"])
    done = answers[-1]
    assert done["status"] == "complete"
    assert done["progress"]["completed"] == done["progress"]["total"] > 0
    assert done["snapshotIds"] == ["2025-03-10"]
    targets = ["6"] if district_id else ["42", "6"]
    assert done["scope"]["targetDistricts"] == targets
    assert set(done["progress"]["districtProgress"]) >= set(targets)


@pytest.mark.parametrize("district_id", [None, "042"])
def test_the_old_front_end_cancels_a_running_backfill(
    celery_worker_process, simulator, staff_client, district_id
):
    simulator.set_faults(latency_ms=200)
    ui = OldFrontEnd(staff_client, district_id)
    body = {"startDate": "2025-03-01", "endDate": "2025-03-12"}
    if district_id is None:
        body["targetDistricts"] = ["42", "61"]
    started = ui.initiate(body)
    assert started is not None, ui.shown_error
    backfill_id = started["backfillId"]
    cancelled = ui.cancel(backfill_id)
    expected = {
        "success": True,
        "message": "Backfill cancelled successfully",
        "backfillId": backfill_id,
    }
    assert cancelled == ({**expected, "districtId": district_id} if district_id else expected)
    deadline = time.monotonic() + 15
    while (status := staff_client.get(f"{ui.base}/{backfill_id}").json()["status"]) != "cancelled":
        assert status == "processing" and time.monotonic() < deadline, status
        time.sleep(0.2)
    # Cancelling a cancelled backfill: the UI shows why, not the fallback.
    again = staff_client.delete(f"{ui.base}/{backfill_id}")
    assert again.status_code == 409
    shown = ui.error_message(again.json())
    assert shown != FALLBACK and "cancel" in shown.lower()


BAD_INPUT = [
    ({"startDate": "01/01/2024"}, "startDate: "),
    ({"startDate": "2025-03-11", "endDate": "2025-03-10"}, "endDate: "),
    ({"startDate": "2025-03-10", "concurrency": "3"}, "concurrency: "),
    ({"startDate": "2025-03-10", "jobType": "analytics-generation"}, "jobType: "),
    ({"startDate": "2025-03-10", "collectionType": "all"}, "collectionType: "),
    ({"startDate": "2025-03-10", "targetDistricts": "42"}, "targetDistricts: "),
]


@pytest.mark.parametrize("district_id", [None, "42"])
def test_the_old_front_end_shows_the_real_error(
    celery_worker_process, simulator, staff_client, district_id
):
    ui = OldFrontEnd(staff_client, district_id)
    for body, shown in BAD_INPUT:
        assert ui.initiate(body) is None, body
        assert ui.shown_error != FALLBACK
        assert ui.shown_error.startswith(shown), ui.shown_error
        assert len(ui.shown_error) > len(shown)  # and says why
    assert not BackfillJob.objects.exists()
    assert simulator.requests() == []


def test_the_old_district_page_shows_a_wrong_target_and_a_bad_id(
    celery_worker_process, simulator, staff_client
):
    page = OldFrontEnd(staff_client, "42")
    assert page.initiate({"startDate": "2025-03-10", "targetDistricts": ["61"]}) is None
    assert page.shown_error == (
        "targetDistricts: This route backfills district 42 only; leave targetDistricts out."
    )
    bad = OldFrontEnd(staff_client, "4242")
    assert bad.initiate({"startDate": "2025-03-10"}) is None
    assert bad.shown_error.startswith("districtId: Invalid district id '4242'")
    missing = staff_client.get("/api/districts/42/backfill/nope")
    assert missing.status_code == 404
    assert OldFrontEnd.error_message(missing.json()) == "No backfill job with id nope."
