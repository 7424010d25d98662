"""The admin for the site's job types (backfill/admin.py, forms.py, publish_admin.py): the New
backfill form starts publish and import jobs, and a publish job's page shows its publish history
with links to the files; the one publish history lists every job's steps and every run of the
command."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, JobType, PublishHistoryEntry, PublishStep
from backfill.services import jobs
from tests.fixtures.jobs import run_to_the_end
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site
from website.models import PublishRun
from website.publishing import publish

NEW = "/admin/backfill/backfilljob/add/"
DAYS = [date(2025, 3, 10), date(2025, 3, 11)]
FORM = {
    "step": "preview",
    "collection_type": "auto",
    "concurrency": 3,
    "retry_failures": "on",
    "enable_caching": "on",
}


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com"))
    return client


@pytest.fixture
def site(snapshot_root, tmp_path):
    return simulated_site(tmp_path / "site", DAYS, ["2", "21"])


@pytest.mark.django_db
def test_the_form_previews_and_starts_a_publish_job_to_its_destination(staff, sent, site, tmp_path):
    import_site(str(site))
    destination = f"file://{tmp_path}/cdn"
    preview = staff.post(NEW, {**FORM, "job_type": "publish", "destination": destination})
    assert preview.status_code == 200, preview.context["form"].errors
    assert "one per date to publish, then the indexes" in preview.content.decode()
    request = json.loads(preview.context["request_json"])
    assert request["destination"] == destination and request["jobType"] == "publish"

    staff.post(NEW, {"step": "start", "request": preview.context["request_json"]})
    job = BackfillJob.objects.get()
    assert job.job_type == JobType.PUBLISH and job.request["destination"] == destination


@pytest.mark.django_db
def test_the_form_sends_the_site_source_of_an_import_and_shows_its_errors_there(staff, sent, site):
    missing = staff.post(NEW, {**FORM, "job_type": "import"})
    assert missing.status_code == 200
    assert "site_source" in missing.context["form"].errors

    preview = staff.post(NEW, {**FORM, "job_type": "import", "site_source": f"file://{site}"})
    assert preview.status_code == 200, preview.context["form"].errors
    assert json.loads(preview.context["request_json"])["source"] == f"file://{site}"
    edit = staff.post(NEW, {"step": "edit", "request": preview.context["request_json"]})
    assert edit.context["form"]["site_source"].value() == f"file://{site}"


@pytest.mark.django_db(transaction=True)
def test_a_publish_job_page_shows_its_history_with_links_to_the_files(staff, sent, site, tmp_path):
    import_site(str(site))
    cdn = tmp_path / "cdn"
    job = run_to_the_end(
        jobs.create_job(
            request=backfill_request({"jobType": "publish", "destination": f"file://{cdn}"})
        )
    )
    assert job.status == JobStatus.COMPLETED

    page = staff.get(reverse("admin:backfill_backfilljob_change", args=[job.pk]))

    body = page.content.decode()
    assert "Publish history" in body and "indexes</strong> (last)" in body
    assert f'href="file://{cdn}/snapshots/2025-03-10/district_21.json"' in body
    history = page.context["publish_history"]
    assert [s.logical_date for s in history.steps] == [*DAYS, None]
    assert history.written == sum(s.written for s in history.steps) > 0

    listing = staff.get(reverse("admin:backfill_publishhistoryentry_changelist"))
    assert listing.status_code == 200
    assert listing.content.decode().count(f">job {str(job.pk)[:8]}</a>") == 3


@pytest.mark.django_db
def test_the_publish_history_lists_the_jobs_steps_and_the_commands_runs_in_one_list(
    staff, sent, site, tmp_path
):
    import_site(str(site))
    job = run_to_the_end(
        jobs.create_job(
            request=backfill_request({"jobType": "publish", "destination": f"file://{tmp_path}/a"})
        )
    )
    publish(f"file://{tmp_path}/b", dry_run=True)
    run = PublishRun.objects.get()

    rows = list(PublishHistoryEntry.objects.all())
    assert [r.id for r in rows if r.job_id is None] == [f"run-{run.pk}"]
    assert {r.id for r in rows if r.job_id == job.pk} == {
        f"step-{s.pk}" for s in PublishStep.objects.filter(job=job)
    }
    assert len(rows) == 4  # the job's two dates and its indexes, the command's run
    command = next(r for r in rows if r.job_id is None)
    assert (command.dates, command.first_date, command.last_date) == (2, *DAYS)
    assert (command.dry_run, command.written, command.indexes) == (True, run.objects_written, True)

    body = staff.get(reverse("admin:backfill_publishhistoryentry_changelist")).content.decode()
    assert (
        "publish_site" in body and "2 dates (2025-03-10 … 2025-03-11) + indexes (dry run)" in body
    )
    assert body.count(f">job {str(job.pk)[:8]}</a>") == 3


@pytest.mark.django_db
def test_a_collection_job_page_has_no_publish_history(staff, sent):
    job = jobs.create_job(request=backfill_request({"startDate": "2025-03-10"}))
    page = staff.get(reverse("admin:backfill_backfilljob_change", args=[job.pk]))
    assert 'id="bf-publish"' not in page.content.decode()
