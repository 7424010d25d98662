"""The admin's Operations page in Chromium, light and dark: its charts draw at a readable size
and its CSV downloads (screenshots under var/screenshots/)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

from django.utils import timezone

from backfill.models import JobStatus, UnitStatus
from backfill_project import counters
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.browser import screenshot


def some_operations() -> None:
    now = timezone.now()
    job = BackfillJobFactory(
        status=JobStatus.PARTIAL_SUCCESS, started_at=now - timedelta(minutes=30), finished_at=now
    )
    for district, status, error_type in (
        ("42", UnitStatus.SUCCEEDED, ""),
        ("61", UnitStatus.FAILED, "timeout_error"),
        ("F", UnitStatus.SUCCEEDED, ""),
    ):
        BackfillUnitFactory(
            job=job, district_id=district, status=status, error_type=error_type, finished_at=now
        )
    for minutes in range(0, 120, 3):
        moment = (now - timedelta(minutes=minutes)).timestamp()
        counters.increment(counters.DASHBOARD_REQUESTS, "200", 6, per_minute=True, now=moment)


def test_the_operations_page_charts_its_figures_in_light_and_dark(viewer_page):
    some_operations()
    page = viewer_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#bf-operations-link")
    page.wait_for_selector("#bf-operations")
    chart = page.locator("#bf-requests-chart").bounding_box()
    assert chart["width"] > 800 and chart["height"] > 200
    assert page.inner_text("#bf-permanent-failures") == "1"
    assert "District 61" in page.inner_text("#bf-operations")
    screenshot(page, "20-operations-light")

    page.click("details:has(#bf-csv-districts) summary")  # the table of every district
    href = page.get_attribute("#bf-csv-districts", "href")
    # Fetched with the page's session (a click would be a download, which Chromium reports as
    # an aborted request).
    response = page.context.request.get(urljoin(page.url, href))
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    lines = response.text().splitlines()
    assert lines[0] == "district,succeeded,failed,success rate %"
    assert lines[1] == "61,0,1,0.0"

    def label_fill() -> str:
        return page.evaluate(
            "getComputedStyle(document.querySelector('#bf-requests-chart text')).fill"
        )

    light = label_fill()
    page.emulate_media(color_scheme="dark")  # the admin follows the system's scheme
    # The chart's text follows the scheme: dark text on light, light text on dark.
    assert label_fill() != light
    screenshot(page, "21-operations-dark")
