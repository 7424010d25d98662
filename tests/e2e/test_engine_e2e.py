"""End to end: real PostgreSQL, Redis broker, Celery worker process, simulator over HTTP."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.test import override_settings

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, UnitStatus
from backfill.services import actions, jobs, recovery
from snapshots import store
from tests.fixtures.backfill import Worker
from tests.fixtures.jobs import export_requests, finished, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_per_district_job_collects_full_detail_for_each_date(celery_worker_process, simulator):
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-12",
                "targetDistricts": ["42", "61"],
            }
        )
    )
    assert job.collection_strategy == "per-district"
    job = finished(job)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == 6
    for day in (10, 11, 12):
        manifest = store.read_manifest(logical_date=date(2025, 3, day))
        assert manifest["status"] == "completed"
        assert manifest["detailLevels"] == {"42": "full", "61": "full"}
        stats = store.read_district(logical_date=date(2025, 3, day), district_id="42")
        assert stats.detail == "full" and stats.club_details
        # The date's all-districts summary, for its rankings: raw data, no district file.
        assert store.list_districts(logical_date=date(2025, 3, day)) == ["42", "61"]
    # Three requests per district and date, and one summary per date.
    assert len(export_requests(simulator)) == 6 * 3 + 3


def test_system_wide_job_stores_every_district_from_one_summary_per_date(
    celery_worker_process, simulator
):
    job = finished(
        jobs.create_job(
            request=backfill_request({"startDate": "2025-03-10", "endDate": "2025-03-11"})
        )
    )
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.collection_strategy == "system-wide"
    assert len(export_requests(simulator)) == 2
    manifest = store.read_manifest(logical_date=date(2025, 3, 10))
    assert len(manifest["detailLevels"]) > 80
    assert set(manifest["detailLevels"].values()) == {"summary"}


def test_targeted_job_keeps_only_the_targets(celery_worker_process, simulator):
    targets = [str(d) for d in range(20, 32)]
    job = finished(
        jobs.create_job(
            request=backfill_request({"startDate": "2025-03-10", "targetDistricts": targets})
        )
    )
    assert job.collection_strategy == "targeted"
    assert job.status == JobStatus.COMPLETED, job.error_summary
    manifest = store.read_manifest(logical_date=date(2025, 3, 10))
    assert sorted(manifest["detailLevels"]) == sorted(targets)
    assert len(export_requests(simulator)) == 1


def test_district_failures_give_a_partial_snapshot_that_retry_upgrades(
    celery_worker_process, simulator
):
    simulator.set_faults(error_status=500, error_rate=1.0, districts=["61"])
    job = finished(
        jobs.create_job(
            request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42", "61"]})
        )
    )
    assert job.status == JobStatus.PARTIAL_SUCCESS
    failed = job.units.get(status=UnitStatus.FAILED)
    assert failed.district_id == "61" and failed.error_type == "fetch_failed"
    assert failed.retryable is True
    manifest = store.read_manifest(logical_date=date(2025, 3, 10))
    assert manifest["status"] == "partial_success"
    assert [e["districtId"] for e in manifest["errors"]] == ["61"]

    simulator.clear_faults()
    assert actions.retry_failed(job=job) == 1
    job = finished(job)
    assert job.status == JobStatus.COMPLETED
    manifest = store.read_manifest(logical_date=date(2025, 3, 10))
    assert manifest["status"] == "completed" and manifest["errors"] == []


def test_cancel_stops_the_job_within_seconds(celery_worker_process, simulator):
    simulator.set_faults(latency_ms=300)
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-01",
                "endDate": "2025-03-20",
                "targetDistricts": ["42", "61", "F"],
                "concurrency": 2,
            }
        )
    )
    wait_for(job, [JobStatus.RUNNING])
    while not job.units.filter(status=UnitStatus.SUCCEEDED).exists():
        time.sleep(0.1)
    started = time.monotonic()
    actions.cancel_job(job=job)
    job = finished(job, timeout=10)
    assert time.monotonic() - started < 5
    assert job.status == JobStatus.CANCELLED
    assert job.cancelled_units > 0
    assert not job.units.filter(status__in=(UnitStatus.RUNNING, UnitStatus.PENDING)).exists()
    seen = len(export_requests(simulator))
    time.sleep(1)
    assert len(export_requests(simulator)) == seen  # nothing goes out after the end


def test_second_run_of_the_same_job_makes_no_request(celery_worker_process, simulator):
    request = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42"]}
    assert (
        finished(jobs.create_job(request=backfill_request(request))).status == JobStatus.COMPLETED
    )
    simulator.reset()
    again = finished(jobs.create_job(request=backfill_request(request)))
    assert again.status == JobStatus.COMPLETED
    assert again.skipped_units == 2 and again.succeeded_units == 0
    assert export_requests(simulator) == []


def test_jobs_run_one_at_a_time_in_fifo_order(celery_worker_process, simulator):
    first = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    )
    second = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-11", "targetDistricts": ["42"]})
    )
    third = jobs.create_job(
        request=backfill_request({"startDate": "2025-03-12", "targetDistricts": ["42"]})
    )
    done = [finished(j) for j in (first, second, third)]
    assert all(j.status == JobStatus.COMPLETED for j in done)
    # Each started only after the one before it had finished.
    assert done[0].finished_at <= done[1].started_at
    assert done[1].finished_at <= done[2].started_at


def test_stale_running_job_is_resumed_by_recovery(backfill_env, tmp_path, fast_limits, simulator):
    with override_settings(BACKFILL_MAX_ACTIVE_JOBS=1):
        job = jobs.create_job(
            request=backfill_request(
                {"startDate": "2025-03-10", "endDate": "2025-03-12", "targetDistricts": ["42"]}
            )
        )
    # No worker yet: the start message waits in the queue. Simulate a crashed run: the job
    # looks running with a unit in flight and an old heartbeat.
    job.refresh_from_db()
    BackfillJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at="2025-01-01T00:00:00Z"
    )
    job.units.filter(logical_date="2025-03-10").update(status=UnitStatus.RUNNING)
    assert recovery.recover_jobs() == [str(job.pk)]
    job.refresh_from_db()
    assert job.recovery_count == 1
    worker = Worker(env=backfill_env, log_path=tmp_path / "worker.log")
    worker.start()
    try:
        job = finished(job)
    finally:
        worker.stop()
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == 3
