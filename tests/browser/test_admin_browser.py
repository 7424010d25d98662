"""The Backfill section in a real browser: Chromium against a live server, a real Celery worker,
PostgreSQL, Redis and the simulator over HTTP. Every page visited is saved under
var/screenshots/ (look at them); any console error or failed resource fails the test.
"""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, UnitStatus
from backfill.services import jobs
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.browser import screenshot
from tests.fixtures.jobs import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TERMINAL = ("completed", "partial_success", "failed", "cancelled")


def wait_for_status(page, statuses, timeout_s: float = 60) -> str:
    """Wait until the job page's badge (refreshed by its polling) shows one of `statuses`."""
    pattern = "|".join(re.escape(s) for s in statuses)
    page.wait_for_function(
        f"() => /^({pattern})$/.test(document.getElementById('bf-status').textContent.trim())",
        timeout=timeout_s * 1000,
    )
    return page.inner_text("#bf-status").strip()


def open_job(page, job: BackfillJob) -> None:
    page.goto(f"{page.base_url}/admin/backfill/backfilljob/{job.pk}/change/")
    page.wait_for_selector("#bf-grid")


def test_a_job_started_from_the_form_runs_to_100_percent_on_its_page(
    admin_page, celery_worker_process, simulator
):
    page = admin_page
    screenshot(page, "01-index")
    page.click("#bf-new-button")
    page.fill("#id_start_date", "2025-03-10")
    page.fill("#id_end_date", "2025-03-12")
    page.fill("#id_target_districts", "42, 61")
    screenshot(page, "02-new-backfill")
    page.click("input[value=Preview]")
    page.wait_for_selector("#bf-preview")
    assert "6 to fetch" in page.inner_text("#bf-preview")
    screenshot(page, "03-preview")
    assert not BackfillJob.objects.exists()

    page.click("#bf-start")
    page.wait_for_selector("#bf-grid")
    assert wait_for_status(page, TERMINAL) == "completed"
    page.wait_for_function("() => document.getElementById('bf-percent').textContent === '100%'")
    assert page.locator("#bf-pause").is_hidden() and page.locator("#bf-cancel").is_hidden()
    page.wait_for_selector("#bf-grid td[data-r]")
    assert page.locator("#bf-grid td[data-r]").count() == 6
    page.click("#bf-grid td[data-r]")
    page.wait_for_selector("#bf-cell a")  # the unit's snapshot link
    screenshot(page, "04-job-completed")
    job = BackfillJob.objects.get()
    assert (job.created_via, job.succeeded_units) == ("admin", 6)

    page.click("#bf-cell a")
    page.wait_for_selector("text=Active members")
    screenshot(page, "05-snapshot-district")


def test_a_running_job_is_cancelled_from_its_page(admin_page, celery_worker_process, simulator):
    simulator.set_faults(latency_ms=400)
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-01", "endDate": "2025-03-20", "targetDistricts": ["42"]}
        )
    )
    page = admin_page
    wait_for(job, ("running",))
    open_job(page, job)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bf-cancel")
    assert wait_for_status(page, ("cancelled",)) == "cancelled"
    screenshot(page, "06-job-cancelled")


def test_the_failures_of_a_partial_job_are_retried_from_its_page(
    admin_page, celery_worker_process, simulator
):
    simulator.set_faults(error_status=500, error_rate=1.0, districts=["61"])
    job = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42", "61"]})
    )
    wait_for(job, TERMINAL)
    assert job.status == JobStatus.PARTIAL_SUCCESS
    page = admin_page
    open_job(page, job)
    page.wait_for_selector("#bf-districts td.bf-error:has-text('fetch_failed')")
    screenshot(page, "07-job-partial")
    simulator.clear_faults()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bf-retry")
    assert wait_for_status(page, ("completed",)) == "completed"


def test_a_running_job_is_paused_and_resumed_from_its_page(
    admin_page, celery_worker_process, simulator
):
    simulator.set_faults(latency_ms=300)
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-01", "endDate": "2025-03-28", "targetDistricts": ["42"]}
        )
    )
    page = admin_page
    wait_for(job, ("running",))
    open_job(page, job)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bf-pause")
    assert wait_for_status(page, ("paused",)) == "paused"
    assert "Paused by an operator" in page.inner_text("#bf-why")
    screenshot(page, "11-job-paused")
    job.refresh_from_db()
    paused_at = job.finished_units
    time.sleep(3)  # units in flight finish; nothing new starts
    job.refresh_from_db()
    assert (
        job.finished_units <= paused_at + job.concurrency
        and job.units.filter(status=UnitStatus.PENDING).exists()
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bf-resume")
    assert wait_for_status(page, TERMINAL, timeout_s=90) == "completed"
    screenshot(page, "12-job-resumed-completed")


def test_a_queued_job_says_why_it_does_not_run(admin_page):
    now = timezone.now()
    running = BackfillJobFactory(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now)
    BackfillUnitFactory(job=running, district_id="42", status=UnitStatus.RUNNING)
    queued = BackfillJobFactory(status=JobStatus.PENDING)
    page = admin_page
    open_job(page, queued)
    why = page.inner_text("#bf-why")
    assert why.startswith(f"Queued behind normal job {running.pk} (position 1 in the queue)")
    screenshot(page, "08-job-queued")


def test_the_history_filters_by_status(admin_page):
    BackfillJobFactory(status=JobStatus.COMPLETED)
    BackfillJobFactory(status=JobStatus.FAILED)
    page = admin_page
    page.goto(f"{page.base_url}/admin/backfill/backfilljob/")
    assert page.locator("#result_list tbody tr").count() == 2
    page.click("#changelist-filter a:text-is('Failed')")
    page.wait_for_url(re.compile(r"status__exact=failed"))
    assert page.locator("#result_list tbody tr").count() == 1
    screenshot(page, "09-history-failed")


def test_a_bad_rate_limit_is_refused_next_to_its_field(admin_page):
    page = admin_page
    page.goto(f"{page.base_url}/admin/backfill/ratelimitconfig/")  # opens the one config
    page.fill("#id_max_requests", "500")
    page.fill("#id_min_delay_ms", "0")
    page.click("input[name=_save]")
    error = page.inner_text(".field-max_requests .errorlist")
    assert "requests per minute is more than the 60" in error
    screenshot(page, "10-rate-limit-refused")


def test_the_analytics_pages_chart_a_district_and_rank_the_districts(admin_page, analytics_data):
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#bf-analytics-link")
    page.wait_for_selector("#bf-analytics-districts")
    screenshot(page, "13-analytics")

    page.click("#bf-analytics-districts tr:has(td:text-is('42')) a:text-is('2024-2025')")
    page.wait_for_selector("#bf-chart")
    members = page.locator("#bf-chart [data-series=activeMembers] circle")
    assert members.count() == analytics_data.points_of("42")
    chart = page.locator("#bf-chart").bounding_box()
    assert chart["width"] > 800 and chart["height"] > 250  # readable at 1280 px
    x_labels = page.locator("#bf-chart-x text").all_text_contents()
    assert x_labels[:2] == ["Jul 2024", "Aug"] and "Jan 2025" in x_labels
    screenshot(page, "14-analytics-district")

    page.click("#bf-last-rankings")
    page.wait_for_selector("#bf-rankings")
    ranks = page.locator("#bf-rankings tbody tr td:first-child").all_inner_texts()
    assert ranks == sorted(ranks, key=int) and len(ranks) == len(analytics_data.ranked)
    screenshot(page, "15-analytics-rankings")
    page.click("#bf-previous")
    page.wait_for_url(re.compile(r"date=2025-01-30"))
    page.click("#bf-rankings tr[data-district='61'] a")
    page.wait_for_selector("#bf-chart")
    assert page.inner_text("#content h1") == "District 61, program year 2024-2025"

    page.goto(f"{page.base_url}/admin/analytics/analyticsoutput/district/42/")
    page.select_option("#bf-year", "2023-2024")
    page.click("#bf-year-form input[type=submit]")
    page.wait_for_url(re.compile(r"programYear=2023-2024"))
    assert page.locator("#bf-chart [data-series=activeMembers] circle").count() == 4

    page.goto(f"{page.base_url}/admin/backfill/backfilljob/{analytics_data.job.pk}/change/")
    page.click("#bf-job-analytics a:text-is('F 2024-2025')")
    page.wait_for_selector("#bf-chart")
    page.emulate_media(color_scheme="dark")  # the admin follows the system's scheme
    screenshot(page, "16-analytics-district-dark")


def test_hostile_text_in_a_job_stays_text(admin_page):
    """Error messages come from the dashboard: the job page shows them as text, never markup."""
    hostile = '<img src="/x" onerror="window.pwned = 1">fetch broke'
    job = BackfillJobFactory(status=JobStatus.COMPLETED, total_units=1, failed_units=1)
    BackfillUnitFactory(
        job=job,
        district_id="42",
        status=UnitStatus.FAILED,
        error_type="fetch_failed",
        error_message=hostile,
    )
    # A district id is at most 8 characters: enough for markup in the grid's old string-built rows.
    BackfillUnitFactory(job=job, district_id="<b>x</b>", status=UnitStatus.SUCCEEDED)
    page = admin_page
    open_job(page, job)
    page.wait_for_selector("#bf-districts td.bf-error")
    assert page.inner_text("#bf-districts td.bf-error") == f"fetch_failed: {hostile}"
    page.click("#bf-grid td[data-r] >> nth=0")
    page.wait_for_selector("#bf-cell tbody tr")
    assert hostile in page.inner_text("#bf-cell")
    assert page.locator("#bf-job img, #bf-job b").count() == 0
    assert "<b>x</b>" in page.inner_text("#bf-grid")
    assert page.evaluate("window.pwned") is None
    screenshot(page, "13-job-hostile-text")


def test_a_viewer_follows_a_job_but_has_no_button_to_steer_it(viewer_page):
    """Read-only: the page polls and draws as for an operator, without one request refused."""
    job = BackfillJobFactory(status=JobStatus.RUNNING, total_units=2, succeeded_units=1)
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.SUCCEEDED)
    BackfillUnitFactory(job=job, district_id="61", status=UnitStatus.PENDING)
    page = viewer_page
    assert page.locator("#bf-new-button").count() == 0
    open_job(page, job)
    page.wait_for_selector("#bf-grid td[data-r]")
    page.click("#bf-grid td[data-r] >> nth=0")
    page.wait_for_selector("#bf-cell tbody tr")
    assert page.locator(".bf-actions input, .bf-actions a").count() == 0
    screenshot(page, "14-job-viewer")
