"""backfill/admin.py: the Backfill section (form -> preview -> start, job page, actions, history).

Django's test client against the real database; the broker is replaced by a recorder, so
starting a job queues nothing. The browser tests (tests/browser/test_admin_browser.py) drive
the same pages in Chromium against a real worker.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, CreatedVia, JobStatus, RateLimitConfig, UnitStatus
from backfill.services import broker, jobs
from districts.models import District
from snapshots import store
from tests.analytics.test_analytics import statistics
from tests.factories import BackfillJobFactory, BackfillUnitFactory

# The broker is replaced by a recorder (`sent`): starting a job here queues nothing.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]

NEW = "/admin/backfill/backfilljob/add/"


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com"))
    return client


def job_page(job: BackfillJob) -> str:
    return reverse("admin:backfill_backfilljob_change", args=[job.pk])


def test_the_index_shows_the_backfill_panel_with_the_running_job(staff):
    running = BackfillJobFactory(status=JobStatus.RUNNING, total_units=4, succeeded_units=1)
    finished = BackfillJobFactory(status=JobStatus.COMPLETED)
    body = staff.get("/admin/").content.decode()
    assert 'id="bf-overview"' in body and "New backfill" in body
    assert job_page(running) in body and "25.0%" in body
    assert job_page(finished) in body


def test_the_form_shows_service_errors_next_to_their_fields(staff):
    District.objects.create(id="42")
    response = staff.post(
        NEW,
        {
            "step": "preview",
            "job_type": "data-collection",
            "start_date": "2025-03-12",
            "end_date": "2025-03-10",
            "target_districts": "42, 999",
            "collection_type": "auto",
            "concurrency": 3,
        },
    )
    form = response.context["form"]
    assert "is before startDate" in form.errors["end_date"][0]
    assert not BackfillJob.objects.exists()


def test_unknown_districts_are_an_error_on_the_district_field(staff):
    District.objects.create(id="42")
    response = staff.post(
        NEW,
        {
            "step": "preview",
            "job_type": "data-collection",
            "start_date": "2025-03-10",
            "target_districts": "42 999",
            "collection_type": "auto",
            "concurrency": 3,
        },
    )
    assert "Unknown district(s) 999" in response.context["form"].errors["target_districts"][0]


def test_preview_writes_nothing_and_start_creates_the_job_as_admin(
    staff, sent, django_capture_on_commit_callbacks
):
    fields = {
        "step": "preview",
        "job_type": "data-collection",
        "start_date": "2025-03-30",
        "end_date": "2025-04-01",
        "target_districts": "42, 61",
        "collection_type": "auto",
        "concurrency": 2,
        "reprocess": "missing",
        "retry_failures": "on",
        "enable_caching": "on",
    }
    preview = staff.post(NEW, fields)
    assert preview.status_code == 200 and not BackfillJob.objects.exists()
    body = preview.content.decode()
    assert "closing period of 2025-03" in body and "Start" in body
    request = json.loads(preview.context["request_json"])
    assert request["targetDistricts"] == ["42", "61"] and request["concurrency"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        started = staff.post(NEW, {"step": "start", "request": preview.context["request_json"]})
    job = BackfillJob.objects.get()
    assert started.status_code == 302 and started["Location"] == job_page(job)
    assert (job.created_via, job.created_by.username) == (CreatedVia.ADMIN, "admin")
    assert (job.total_units, job.unavailable_units) == (6, 2)
    assert broker.START_JOBS_TASK in [task for task, _ in sent]


def test_a_double_submit_of_start_creates_one_job_and_shows_it_twice(staff):
    preview = staff.post(
        NEW,
        {
            "step": "preview",
            "job_type": "data-collection",
            "start_date": "2025-03-10",
            "target_districts": "42",
            "collection_type": "auto",
            "concurrency": 2,
        },
    )
    assert 'name="start_token"' in preview.content.decode()
    start = {
        "step": "start",
        "request": preview.context["request_json"],
        "start_token": preview.context["start_token"],
    }

    first = staff.post(NEW, start)
    second = staff.post(NEW, start, follow=True)

    job = BackfillJob.objects.get()
    assert first["Location"] == job_page(job)
    assert second.redirect_chain == [(job_page(job), 302)]
    assert f"This preview already started backfill job {job.pk}." in second.content.decode()
    # Another preview is another token: starting it is another job.
    again = staff.post(NEW, {**start, "start_token": uuid.uuid4().hex})
    assert BackfillJob.objects.count() == 2 and again["Location"] != job_page(job)


def test_an_analytics_preview_says_what_it_will_read(staff, snapshot_root):
    for day in (date(2025, 3, 10), date(2025, 3, 11)):
        for district in ("42", "61"):
            store.write_district(logical_date=day, statistics=statistics(district, day))
        store.finalize_snapshot(
            logical_date=day,
            collection_strategy="system-wide",
            scope=[],
            job_id=None,
            district_errors={},
        )
    fields = {
        "step": "preview",
        "job_type": "analytics-generation",
        "start_date": "2025-03-10",
        "end_date": "2025-03-12",
        "collection_type": "auto",
        "concurrency": 20,
        "retry_failures": "on",
        "enable_caching": "on",
    }
    preview = staff.post(NEW, fields)
    assert preview.status_code == 200, preview.context["form"].errors
    body = preview.content.decode()
    assert "2 snapshot dates, 4 district files, program year 2024-2025" in body
    assert "1 date without a snapshot" in body
    assert "4 to generate" in body  # rankings of two dates, time series of 42 and 61


def test_back_to_edit_keeps_what_was_entered(staff):
    request = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42"]}
    response = staff.post(NEW, {"step": "edit", "request": json.dumps(request)})
    form = response.context["form"]
    assert form["start_date"].value() == "2025-03-10"
    assert form["target_districts"].value() == "42"


def test_the_job_page_and_its_status_json_show_progress_and_the_grid(staff):
    job = BackfillJobFactory(status=JobStatus.RUNNING, total_units=2, failed_units=1)
    BackfillUnitFactory(
        job=job,
        district_id="42",
        status=UnitStatus.FAILED,
        error_type="fetch_failed",
        error_message="HTTP 500",
    )
    BackfillUnitFactory(job=job, district_id="61", status=UnitStatus.PENDING)
    page = staff.get(job_page(job))
    assert page.status_code == 200 and "Units by date and district" in page.content.decode()

    status = staff.get(f"{job_page(job).removesuffix('change/')}status.json?grid=1").json()
    assert status["progress"]["failed"] == 1 and status["progress"]["currentDate"] == "2025-03-10"
    assert status["grid"]["districts"] == ["42", "61"]
    assert status["grid"]["cells"] == [["failed"], ["pending"]]
    (row,) = [d for d in status["progress"]["districtProgress"] if d["districtId"] == "42"]
    assert row["failed"] == 1
    assert status["lastErrors"] == {"42": "fetch_failed: HTTP 500"}
    assert status["errorSummary"]["byType"] == {"fetch_failed": 1}
    # The page polls the job API's status body, with what only the page shows beside it.
    api = staff.get(f"/api/admin/backfill/{job.pk}").json()
    assert set(status) - {"isTerminal", "lastErrors", "grid"} == set(api)
    assert status["progress"] == api["progress"] | {
        k: status["progress"][k] for k in ("etaSeconds", "estimatedCompletionAt")
    }

    cell = staff.get(
        f"{job_page(job).removesuffix('change/')}cell.json?date=2025-03-10&district=42"
    ).json()
    assert cell["units"][0]["errorMessage"] == "HTTP 500"


def test_a_wide_job_is_shown_by_week(staff):
    job = BackfillJobFactory(start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    BackfillUnitFactory(job=job, district_id="42", logical_date=date(2025, 6, 4))
    status = staff.get(f"{job_page(job).removesuffix('change/')}status.json?grid=1").json()
    grid = status["grid"]
    assert grid["byWeek"] is True and len(grid["columns"]) == 53
    assert grid["cells"][0][grid["columns"].index("2025-06-02")] == "pending"


def test_cancelling_a_finished_job_shows_the_conflict_and_changes_nothing(staff):
    job = BackfillJobFactory(status=JobStatus.COMPLETED)
    url = reverse("admin:backfill_job_action", args=[job.pk, "cancel"])
    response = staff.post(url, follow=True)
    assert "is already completed" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


def test_cancel_from_the_job_page_cancels_a_queued_job(staff):
    job = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    )
    staff.post(reverse("admin:backfill_job_action", args=[job.pk, "cancel"]))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_actions_need_a_post(staff):
    job = BackfillJobFactory(status=JobStatus.RUNNING)
    url = reverse("admin:backfill_job_action", args=[job.pk, "cancel"])
    assert staff.get(url).status_code == 405


def test_history_searches_by_district_and_filters_by_origin(staff):
    with_42 = BackfillJobFactory(created_via=CreatedVia.API)
    BackfillUnitFactory(job=with_42, district_id="42")
    other = BackfillJobFactory(created_via=CreatedVia.BEAT)
    BackfillUnitFactory(job=other, district_id="61")
    found = staff.get("/admin/backfill/backfilljob/?q=042").context["cl"].result_list
    assert list(found) == [with_42]
    beat = staff.get("/admin/backfill/backfilljob/?created_via__exact=beat").context["cl"]
    assert list(beat.result_list) == [other]


def test_the_section_is_for_staff_only(client):
    user = get_user_model().objects.create_user("someone", password="pw")
    client.force_login(user)
    assert client.get(NEW).status_code == 302  # to the admin login


def rate_form(**fields) -> dict:
    return {
        "max_requests": 10,
        "window_ms": 60_000,
        "min_delay_ms": 2_000,
        "max_delay_ms": 30_000,
        "backoff_multiplier": 2.0,
        "max_concurrent": 3,
        **fields,
    }


def test_the_rate_limit_refuses_values_that_would_hammer_the_dashboard(staff):
    config = RateLimitConfig.load()
    url = reverse("admin:backfill_ratelimitconfig_change", args=[config.pk])
    response = staff.post(url, rate_form(max_requests=500, min_delay_ms=0))
    assert "requests per minute is more than the 60" in str(response.context["errors"])
    response = staff.post(url, rate_form(min_delay_ms=5_000, max_delay_ms=1_000))
    assert "is above the maximum delay" in str(response.context["errors"])
    config.refresh_from_db()
    assert config.max_requests == 10

    assert staff.post(url, rate_form(max_requests=20)).status_code == 302
    config.refresh_from_db()
    assert config.max_requests == 20


def test_a_pending_units_cell_says_why_it_has_not_started(staff, settings):
    settings.BACKFILL_LIMITS_KEY_PREFIX = f"test-admin-{uuid.uuid4().hex[:8]}"  # no limiter state
    now = timezone.now()
    job = BackfillJobFactory(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, concurrency=1
    )
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.RUNNING)
    BackfillUnitFactory(
        job=job, district_id="42", status=UnitStatus.PENDING, logical_date=date(2025, 3, 11)
    )
    base = job_page(job).removesuffix("change/")
    (unit,) = staff.get(f"{base}cell.json?date=2025-03-11&district=42").json()["units"]
    assert unit["whyNotRunning"].startswith("Queued in its job: 0 earlier units wait before it")


def test_pause_and_resume_from_the_job_page(staff):
    job = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    )
    assert 'id="bf-pause"' in staff.get(job_page(job)).content.decode()
    staff.post(reverse("admin:backfill_job_action", args=[job.pk, "pause"]))
    job.refresh_from_db()
    assert job.status == JobStatus.PAUSED
    assert 'id="bf-resume"' in staff.get(job_page(job)).content.decode()
    staff.post(reverse("admin:backfill_job_action", args=[job.pk, "resume"]))
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    response = staff.post(
        reverse("admin:backfill_job_action", args=[job.pk, "resume"]), follow=True
    )
    assert "is pending" in response.content.decode() or "paused" in response.content.decode()


def test_the_form_switches_the_summary_collection_off_and_shows_its_refusal(staff):
    fields = {
        "step": "preview",
        "job_type": "data-collection",
        "start_date": "2025-03-10",
        "target_districts": "42, 61",
        "collection_type": "auto",
        "concurrency": 3,
        "collect_summary": "no",
    }
    preview = staff.post(NEW, fields)
    assert preview.status_code == 200, preview.context["form"].errors
    assert json.loads(preview.context["request_json"])["collectSummary"] is False
    refused = staff.post(NEW, {**fields, "collection_type": "system-wide"})
    errors = refused.context["form"].errors["collect_summary"]
    assert "Only for a per-district collection" in errors[0]
    assert not BackfillJob.objects.exists()
