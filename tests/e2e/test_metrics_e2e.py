"""End to end: /metrics scraped while a Celery worker process runs a real job against the
simulator over HTTP; the figures move as the job goes, and the worker's lines name their unit."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backfill.contracts import backfill_request
from backfill.models import JobStatus, RateLimitConfig
from backfill.services import jobs
from tests.fixtures.jobs import export_requests, finished

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer e2e-token")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_scrape_during_a_job_shows_the_figures_moving(
    celery_worker_process, simulator, client, settings
):
    settings.METRICS_TOKEN = "e2e-token"
    # Spaced requests: the job lasts a few seconds, long enough to be scraped while it runs.
    RateLimitConfig.objects.filter(pk=1).update(min_delay_ms=200)
    simulator.set_faults(fail_next=1, error_status=503)
    before = scrape(client)
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "endDate": "2025-03-12", "targetDistricts": ["42", "61"]}
        )
    )
    seen: list[dict] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen.append(scrape(client))
        job.refresh_from_db()
        if job.is_terminal:
            break
        time.sleep(0.4)
    job = finished(job)
    after = scrape(client)
    assert job.status == JobStatus.COMPLETED, job.error_summary

    sent = value(after, "backfill_dashboard_requests_total", outcome="200") - value(
        before, "backfill_dashboard_requests_total", outcome="200"
    )
    failed = value(after, "backfill_dashboard_requests_total", outcome="5xx") - value(
        before, "backfill_dashboard_requests_total", outcome="5xx"
    )
    assert (sent, failed) == (len(export_requests(simulator)) - 1, 1)
    # Monotonic while it ran, and moving: several different totals were scraped.
    totals = [value(s, "backfill_dashboard_requests_total", outcome="200") for s in seen]
    assert totals == sorted(totals) and len(set(totals)) >= 3, totals
    # Units were seen pending or running mid-job, and all succeeded at the end.
    assert any(
        value(s, "backfill_units", status="pending") + value(s, "backfill_units", status="running")
        for s in seen
    )
    assert value(after, "backfill_units", status="succeeded") == 6
    labels = {"type": "data-collection", "priority": "normal"}
    assert value(after, "backfill_jobs", status="completed", **labels) == 1
    assert value(after, "backfill_units_waiting_for_slot") == 0
    assert all(
        value(after, "backfill_scrape_errors", section=s) == 0
        for s in ("jobs", "units", "counters", "limits", "store", "lag")
    )
    print(f"\nscrapes during the job: {len(seen)}; requests (200) per scrape: {totals}")

    # The worker's lines of a unit carry its job, unit, date and district.
    log = celery_worker_process.log()
    assert f"[job {job.pk} unit " in log
    assert " 2025-03-10 district 42]" in log
