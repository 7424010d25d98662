"""A publish job's page and the publish history in a real Chromium, light and dark
(screenshots under var/screenshots/: 30-publish-job-*, 31-publish-history-*), and an
import job's page with the files it refused (32-import-job-*)."""

from __future__ import annotations

from datetime import date

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus
from backfill.services import jobs
from tests.fixtures.browser import screenshot
from tests.fixtures.jobs import run_to_the_end
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site

DAYS = [date(2025, 3, 10), date(2025, 3, 11)]


@pytest.fixture
def published(snapshot_root, sent, tmp_path, transactional_db):
    import_site(str(simulated_site(tmp_path / "site", DAYS, ["2", "21", "42"])))
    request = {"jobType": "publish", "destination": f"file://{tmp_path}/cdn"}
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.COMPLETED
    return job


def test_a_publish_job_page_shows_its_history_light_and_dark(admin_page, published):
    page = admin_page
    page.goto(f"{page.base_url}/admin/backfill/backfilljob/{published.pk}/change/")
    panel = page.locator("#bf-publish")
    panel.wait_for()
    rows = panel.locator("tbody tr")
    assert rows.count() == 3
    assert rows.nth(2).inner_text().startswith("indexes")
    link = panel.locator("a[href^='file://']").first
    assert link.get_attribute("href").endswith(".json")
    screenshot(page, "30-publish-job-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "30-publish-job-dark")

    page.click("text=All publish history")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 3
    screenshot(page, "31-publish-history-dark")
    page.emulate_media(color_scheme="light")
    screenshot(page, "31-publish-history-light")


def test_an_import_job_page_lists_the_refused_files_light_and_dark(
    admin_page, snapshot_root, sent, tmp_path
):
    site = simulated_site(tmp_path / "site", DAYS, ["2", "21"])
    bad = site / "snapshots" / DAYS[1].isoformat() / "district_21.json"
    bad.write_text(bad.read_text().replace('"status": "success"', '"status": "exploded"'))
    request = {"jobType": "import", "source": f"file://{site}"}
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.PARTIAL_SUCCESS

    page = admin_page
    page.goto(f"{page.base_url}/admin/backfill/backfilljob/{job.pk}/change/")
    page.wait_for_selector("#bf-errors li")
    assert "validation_failed: 1" in page.locator("#bf-errors").inner_text()
    assert "district_21.json" in page.locator("#bf-districts").inner_text()
    assert page.locator("#bf-site").inner_text().count(str(site)) == 1
    screenshot(page, "32-import-job-light")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "32-import-job-dark")
