"""snapshots/api.py: the staff-only read endpoints under /api/admin/."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from snapshots import performance, store
from snapshots.models import Snapshot
from tests.fixtures.api import VIEWERS, staff_member
from tests.snapshots.factories import DistrictStatisticsFactory, SnapshotFactory, full_statistics

DAY = date(2025, 3, 10)
ENDPOINTS = [
    "/api/admin/snapshots",
    "/api/admin/snapshots/2025-03-10",
    "/api/admin/snapshots/2025-03-10/districts/42",
    "/api/admin/snapshot-store/health",
    "/api/admin/snapshot-store/performance",
]
pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(snapshot_root):
    """Three snapshots: 2025-03-08 completed, 2025-03-09 partial_success, 2025-03-10 completed."""
    for day, errors in (
        (date(2025, 3, 8), {}),
        (date(2025, 3, 9), {"61": {"errorType": "fetch_failed", "message": "HTTP 500"}}),
        (DAY, {}),
    ):
        store.write_district(logical_date=day, statistics=full_statistics(logical_date=day))
        store.finalize_snapshot(
            logical_date=day,
            collection_strategy="per-district",
            scope=["42", "61"],
            job_id=None,
            district_errors=errors,
        )
    return snapshot_root


@pytest.mark.parametrize("url", ENDPOINTS)
def test_requests_without_credentials_get_401(url, stored):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_non_staff_users_get_403(url, stored, user_client):
    assert user_client.get(url).status_code == 403


def test_staff_with_a_token_can_read(stored):
    user = staff_member("robot", VIEWERS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/admin/snapshots").status_code == 200


def test_list_is_newest_first_in_camel_case(stored, staff_client):
    body = staff_client.get("/api/admin/snapshots").json()
    assert body["count"] == 3 and body["limit"] == 50
    assert [s["date"] for s in body["snapshots"]] == ["2025-03-10", "2025-03-09", "2025-03-08"]
    first = body["snapshots"][0]
    assert first["status"] == "completed" and first["districtCount"] == 1
    assert first["asOfDate"] == "2025-03-10" and first["isClosingPeriod"] is False
    assert first["collectionStrategy"] == "per-district" and first["scope"] == ["42", "61"]
    assert first["sizeBytes"] > 0 and first["jobId"] is None


def test_list_filters_by_status_dates_and_limit(stored, staff_client):
    def dates(query: str) -> list[str]:
        response = staff_client.get(f"/api/admin/snapshots?{query}")
        assert response.status_code == 200
        return [s["date"] for s in response.json()["snapshots"]]

    assert dates("status=partial_success") == ["2025-03-09"]
    assert dates("from=2025-03-09") == ["2025-03-10", "2025-03-09"]
    assert dates("to=2025-03-09") == ["2025-03-09", "2025-03-08"]
    assert dates("from=2025-03-09&to=2025-03-09") == ["2025-03-09"]
    assert dates("limit=1") == ["2025-03-10"]
    assert staff_client.get("/api/admin/snapshots?limit=1").json()["count"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2025-13-01", "from"),
        ("to=yesterday", "to"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("status=done", "status"),
        ("from=2025-03-10&to=2025-03-01", "to"),
        # Empty values were read as absent.
        ("status=", "status"),
        ("limit=", "limit"),
        ("from=", "from"),
    ],
)
def test_bad_list_parameters_get_400_naming_the_field(query, field, staff_client):
    response = staff_client.get(f"/api/admin/snapshots?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_detail_returns_the_manifest(stored, staff_client):
    response = staff_client.get("/api/admin/snapshots/2025-03-09")
    assert response.status_code == 200
    manifest = response.json()
    assert manifest == store.read_manifest(logical_date=date(2025, 3, 9))
    assert manifest["status"] == "partial_success"
    assert manifest["errors"] == [
        {"districtId": "61", "errorType": "fetch_failed", "message": "HTTP 500"}
    ]


def test_unknown_dates_and_districts_get_404(stored, staff_client):
    assert staff_client.get("/api/admin/snapshots/2025-03-11").status_code == 404
    assert staff_client.get("/api/admin/snapshots/2025-03-11/districts/42").status_code == 404
    assert staff_client.get("/api/admin/snapshots/2025-03-10/districts/61").status_code == 404


@pytest.mark.parametrize("path", ["2025-02-30", "20250310", "2025-W11-1"])
def test_a_malformed_date_in_the_path_gets_400(staff_client, snapshot_root, path):
    response = staff_client.get(f"/api/admin/snapshots/{path}")
    assert response.status_code == 400
    assert "date" in response.json()


@pytest.mark.parametrize("district_id", ["..", "4242", "AB", "-1"])
def test_a_malformed_district_id_in_the_path_gets_400_as_on_analytics(
    stored, staff_client, district_id
):
    """One rule on every route: a malformed path id is a 400 naming the parameter, a
    well-formed one naming nothing is a 404."""
    response = staff_client.get(f"/api/admin/snapshots/2025-03-10/districts/{district_id}")
    assert response.status_code == 400
    assert "district_id" in response.json()
    analytics = staff_client.get(f"/api/admin/analytics/districts/{district_id}")
    assert analytics.status_code == 400


def test_a_district_id_in_another_form_names_the_same_district(stored, staff_client):
    response = staff_client.get("/api/admin/snapshots/2025-03-10/districts/042")
    assert response.status_code == 200 and response.json()["districtId"] == "42"


def test_district_statistics_are_served_in_camel_case(stored, staff_client):
    response = staff_client.get("/api/admin/snapshots/2025-03-10/districts/42")
    assert response.status_code == 200
    body = response.json()
    assert body["districtId"] == "42" and body["asOfDate"] == "2025-03-10"
    assert body["detail"] == "full" and body["isClosingPeriod"] is False
    assert body["membership"]["activeMembers"] == 2100
    assert body["clubDetails"][0]["clubNumber"] == "00000000"
    assert body["divisions"][0]["areas"][0]["novVisits"] == 3


def test_health_reports_root_count_last_completed_and_no_problems(stored, staff_client):
    body = staff_client.get("/api/admin/snapshot-store/health").json()
    assert body["writable"] is True
    assert body["freeSpaceBytes"] > 0
    assert body["location"] == str(stored)
    assert body["snapshotCount"] == 3
    assert body["lastCompletedDate"] == "2025-03-10"
    assert body["problems"] == [] and body["status"] == "healthy"


def test_health_finds_snapshots_missing_from_the_index_and_on_disk(stored, staff_client):
    (stored / "2025-03-08" / "manifest.json").unlink()
    SnapshotFactory(logical_date=date(2024, 1, 1))
    Snapshot.objects.filter(logical_date=DAY).delete()
    body = staff_client.get("/api/admin/snapshot-store/health").json()
    assert body["status"] == "degraded"
    problems = " | ".join(body["problems"])
    assert "missing from the index (first 2025-03-10)" in problems
    assert "have no directory (first 2024-01-01)" in problems


def test_performance_reports_recorded_timings_sizes_and_cache_use(
    stored, staff_client, monkeypatch
):
    # Keys of this test's own: every process that writes to a store adds its figures to the
    # shared ones (other test processes, the end-to-end tests' workers), by design.
    monkeypatch.setattr(performance, "PREFIX", f"{performance.PREFIX}:test-{uuid.uuid4().hex}")
    performance.reset()
    store.write_district(logical_date=DAY, statistics=DistrictStatisticsFactory(district_id="7"))
    for _ in range(3):
        store.read_district(logical_date=DAY, district_id="7")

    body = staff_client.get("/api/admin/snapshot-store/performance").json()
    writes = body["operations"]["writeDistrict"]
    assert writes["count"] == 1 and writes["samples"] == 1
    assert writes["p50Ms"] > 0 and writes["p95Ms"] >= writes["p50Ms"]
    assert writes["bytesTotal"] > 0
    reads = body["operations"]["readDistrict"]
    assert reads["count"] == 3
    assert body["cache"]["misses"] >= 1 and body["cache"]["hits"] >= 2
    assert 0 < body["cache"]["hitRate"] < 1
    assert body["sizes"]["snapshots"] == 3 and body["sizes"]["totalBytes"] > 0
    assert body["problems"] == []
