"""Analytics generation end to end: snapshots collected from the simulator by a real Celery
worker, the follow-up analytics job it queues, and analytics jobs paused, cancelled and
retried, on the real PostgreSQL and Redis."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from analytics import documents
from analytics.models import AnalyticsOutput
from backfill.contracts import backfill_request
from backfill.models import JobStatus, JobType, UnitStatus
from backfill.services import actions, jobs
from tests.fixtures.jobs import finished, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TARGETS = [str(d) for d in range(20, 32)]  # 12 districts: one targeted summary per date
DAYS = (date(2025, 3, 10), date(2025, 3, 11))


def collect(days=DAYS):
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": days[0].isoformat(),
                "endDate": days[-1].isoformat(),
                "targetDistricts": TARGETS,
            }
        )
    )
    job = finished(job)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    return job


def analytics_job(**fields):
    return jobs.create_job(
        request=backfill_request(
            {"jobType": "analytics-generation", "targetDistricts": TARGETS, **fields}
        )
    )


def test_collection_queues_a_follow_up_that_the_worker_runs(
    follow_up_analytics, celery_worker_process, simulator, snapshot_root, staff_client
):
    collection = collect()
    follow_up = finished(collection.follow_ups.get())
    assert follow_up.status == JobStatus.COMPLETED, follow_up.error_summary
    assert follow_up.job_type == JobType.ANALYTICS_GENERATION
    assert follow_up.collection_strategy == "analytics"
    assert follow_up.succeeded_units == len(TARGETS) + len(DAYS)
    assert sum(follow_up.units.values_list("requests_made", flat=True)) == 0
    # The analytics job sent nothing to the dashboard: only the collection's two summaries.
    assert len([r for r in simulator.requests() if "export.aspx" in r["path"]]) == len(DAYS)

    # Rankings rank every district of the date's summary, not only the targets.
    rankings = documents.read_rankings(logical_date=DAYS[0])
    ranked = {r["districtId"] for r in rankings["rankings"]}
    assert ranked > set(TARGETS) and rankings["districtCount"] == len(ranked) > 80
    series = documents.read_district_series(district_id="20", program_year="2024-2025")
    assert [p["date"] for p in series["series"]] == [d.isoformat() for d in DAYS]
    stored = json.loads((snapshot_root / "2025-03-11" / "district_20.json").read_text())
    assert series["series"][1]["paidClubs"] == stored["clubs"]["paid"]
    assert series["series"][1]["payments"]["total"] == stored["payments"]["total_ytd"]
    assert series["partialDates"] == [] and series["missingDates"] == []
    assert AnalyticsOutput.objects.filter(job_id=follow_up.pk).count() == len(TARGETS) + 2

    body = staff_client.get(f"/api/admin/backfill/{collection.pk}").json()
    assert body["followUps"] == [str(follow_up.pk)] and body["followUpOf"] is None
    body = staff_client.get(f"/api/admin/backfill/{follow_up.pk}").json()
    assert body["followUpOf"] == str(collection.pk) and body["followUps"] == []
    assert body["jobType"] == "analytics-generation"


def test_analytics_jobs_pause_resume_cancel_and_retry(
    celery_worker_process, simulator, snapshot_root
):
    collect()
    assert documents.read_rankings(logical_date=DAYS[1]) is None  # no follow-up here
    job = finished(analytics_job())
    assert job.status == JobStatus.COMPLETED and job.follow_ups.count() == 0

    # Pause: in-flight units finish, the others wait; resume completes the job.
    job = analytics_job(concurrency=1)
    actions.pause_job(job=job)
    job = wait_for(job, [JobStatus.PAUSED])
    deadline = time.monotonic() + 10
    while job.units.filter(status=UnitStatus.RUNNING).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    done = job.units.filter(status=UnitStatus.SUCCEEDED).count()
    time.sleep(1)
    assert job.units.filter(status=UnitStatus.SUCCEEDED).count() == done < job.total_units
    actions.resume_job(job=job)
    job = finished(job)
    assert job.status == JobStatus.COMPLETED and job.succeeded_units == job.total_units

    # Cancel: no unit starts after it.
    job = analytics_job(concurrency=1)
    job = finished(actions.cancel_job(job=job))
    assert job.status == JobStatus.CANCELLED and job.cancelled_units > 0

    # Retry: a rankings document that cannot be written fails its unit; once writable, retry
    # runs only that unit again.
    blocker = snapshot_root / "analytics" / "rankings" / f"{DAYS[1]}.json"
    blocker.unlink()
    blocker.mkdir()
    job = finished(analytics_job(retryFailures=False))
    assert job.status == JobStatus.PARTIAL_SUCCESS
    failed = job.units.get(status=UnitStatus.FAILED)
    assert (failed.logical_date, failed.district_id) == (DAYS[1], "*")
    assert failed.error_type == "processing_failed" and failed.retryable
    blocker.rmdir()
    assert actions.retry_failed(job=job) == 1
    job = finished(job)
    assert job.status == JobStatus.COMPLETED
    assert documents.read_rankings(logical_date=DAYS[1])["districtCount"] > len(TARGETS)
