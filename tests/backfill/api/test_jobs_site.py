"""The job API for the site's job types (backfill/api/jobs.py): a publish job to a destination
and an import job from a site's tree are created, previewed and refused like any other job."""

from __future__ import annotations

from datetime import date

import pytest

from backfill.models import BackfillJob, JobType
from backfill.services import broker
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site

pytestmark = pytest.mark.django_db
URL = "/api/admin/backfill"
DAYS = [date(2025, 3, 10), date(2025, 3, 11)]


@pytest.fixture(autouse=True)
def sent(monkeypatch, snapshot_root) -> list[tuple[str, tuple]]:
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: calls.append((task, args))
    )
    return calls


@pytest.fixture
def site(tmp_path):
    return simulated_site(tmp_path / "site", DAYS, ["2", "21"])


def test_a_publish_job_is_created_with_the_default_destination(staff_client, site, settings):
    import_site(str(site))
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    response = staff_client.post(URL, {"jobType": "publish"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["jobType"] == "publish"
    assert body["request"]["destination"] == "file:///srv/cdn"
    assert body["collectionStrategy"]["type"] == "publish"
    assert (body["startDate"], body["endDate"]) == ("2025-03-10", "2025-03-11")
    assert body["progress"]["total"] == 2


def test_a_publish_without_any_destination_is_a_400_naming_it(staff_client, settings):
    settings.PUBLISH_DESTINATION = ""
    response = staff_client.post(URL, {"jobType": "publish"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["destination"]
    assert not BackfillJob.objects.exists()


def test_a_publish_with_nothing_stored_is_a_400_naming_the_dates(staff_client):
    response = staff_client.post(
        URL, {"jobType": "publish", "destination": "file:///srv/cdn"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"startDate", "endDate"}


def test_an_import_job_plans_one_unit_per_date_of_the_tree(staff_client, site):
    response = staff_client.post(
        URL, {"jobType": "import", "source": f"file://{site}"}, format="json"
    )
    assert response.status_code == 202, response.json()
    job = BackfillJob.objects.get()
    assert job.job_type == JobType.IMPORT and job.request["source"] == f"file://{site}"
    assert list(job.units.values_list("logical_date", flat=True)) == DAYS


def test_an_import_from_a_missing_directory_is_a_400_naming_source(staff_client, tmp_path):
    response = staff_client.post(
        URL, {"jobType": "import", "source": f"file://{tmp_path}/none"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["source"]


def test_the_preview_of_an_import_lists_its_dates(staff_client, site):
    response = staff_client.post(
        f"{URL}/preview", {"jobType": "import", "source": str(site)}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["requests"] == 0 and body["totalUnits"] == 2
    assert [(d["date"], d["plan"]) for d in body["dates"]] == [
        ("2025-03-10", "import"),
        ("2025-03-11", "import"),
    ]
    assert not BackfillJob.objects.exists()


def test_the_history_filters_publish_jobs(staff_client, site, settings):
    import_site(str(site))
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    staff_client.post(URL, {"jobType": "publish"}, format="json")
    staff_client.post(URL, {"jobType": "import", "source": str(site)}, format="json")
    jobs = staff_client.get(f"{URL}/jobs?jobType=publish").json()["jobs"]
    assert [j["jobType"] for j in jobs] == ["publish"]
