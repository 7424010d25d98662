"""monitoring/admin.py: the Operations page and its CSVs, for staff who may view jobs."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from backfill.models import JobStatus, UnitStatus
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.api import VIEWERS, staff_member

pytestmark = pytest.mark.django_db
URL = "/admin/monitoring/operations/"


@pytest.fixture
def viewer(client):
    client.force_login(staff_member("viewer", VIEWERS))
    return client


@pytest.fixture
def failed_unit():
    job = BackfillJobFactory(status=JobStatus.PARTIAL_SUCCESS)
    return BackfillUnitFactory(
        job=job,
        district_id="61",
        status=UnitStatus.FAILED,
        error_type="timeout_error",
        error_message="timed out",
        finished_at=timezone.now(),
        attempts=3,
        retryable=True,
    )


def test_the_page_shows_every_table_chart_and_csv_link(viewer, failed_unit):
    response = viewer.get(URL, {"window": "7d"})
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("jobs", "districts", "errors", "retries", "failures", "requests"):
        assert f'id="bf-table-{key}"' in page
        assert f"?window=7d&amp;csv={key}" in page
    assert 'id="bf-requests-chart"' in page
    assert "<svg" in page and "District 61" in page
    assert 'id="bf-permanent-failures">1<' in page


def test_each_table_downloads_as_csv(viewer, failed_unit):
    response = viewer.get(URL, {"window": "24h", "csv": "failures"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="operations-failures-24h.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "ended",
        "job",
        "date",
        "district",
        "error type",
        "attempts",
        "retryable",
        "message",
    ]
    assert rows[1][1:] == [
        str(failed_unit.job_id),
        "2025-03-10",
        "61",
        "timeout_error",
        "3",
        "True",
        "timed out",
    ]
    assert viewer.get(URL, {"csv": "nope"}).status_code == 404


def test_the_admin_index_links_it(viewer):
    page = viewer.get("/admin/").content.decode()
    assert 'id="bf-operations-link"' in page
    assert URL in page


def test_staff_without_the_jobs_view_permission_get_403(client):
    client.force_login(staff_member("nobody", None))
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"csv": "districts"}).status_code == 403
    assert URL not in client.get("/admin/").content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
