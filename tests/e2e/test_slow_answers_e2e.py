"""Slow and strange answers, end to end: a Celery worker process, the simulator over HTTP.

A body that drips in slower than anything can wait for ends its unit as a retryable
`timeout_error` (the task's soft time limit, when nothing stopped it sooner); a redirect the
collector does not expect fails the unit `fetch_failed` naming its target, so a retry asks again.
"""

from __future__ import annotations

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus, UnitStatus
from backfill.services import actions, jobs
from districts.dashboard.errors import ErrorType
from tests.fixtures.backfill import Worker
from tests.fixtures.jobs import finished

pytestmark = pytest.mark.django_db(transaction=True)

ONE_UNIT = {
    "startDate": "2025-03-10",
    "endDate": "2025-03-10",
    "targetDistricts": ["42"],
    "retryFailures": False,
}


def test_a_unit_stopped_by_the_soft_time_limit_fails_retryable_as_a_timeout(
    backfill_env, tmp_path, fast_limits, simulator
):
    # The client's own download deadline (120 s) is far off: only the task's 2 s soft limit
    # stops this drip of 50 bytes a second.
    worker = Worker(
        env={**backfill_env, "CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "30"},
        log_path=tmp_path / "worker.log",
    )
    worker.start()
    try:
        simulator.set_faults(drip_next=1, drip_bytes_per_second=50)
        job = finished(jobs.create_job(request=backfill_request(ONE_UNIT)))
    finally:
        worker.stop()

    unit = job.units.get()
    assert job.status == JobStatus.FAILED
    assert (unit.status, unit.error_type, unit.retryable) == (
        UnitStatus.FAILED,
        ErrorType.TIMEOUT_ERROR,
        True,
    )
    assert "soft time limit (2 s" in unit.error_message


def test_a_redirect_to_another_host_fails_the_unit_naming_it_and_a_retry_collects_it(
    celery_worker_process, simulator
):
    # The archive path and then the root path are both sent elsewhere.
    simulator.set_faults(redirect_next=2, redirect_location="https://elsewhere.example/moved")
    job = finished(jobs.create_job(request=backfill_request(ONE_UNIT)))

    unit = job.units.get()
    assert job.status == JobStatus.FAILED
    assert (unit.status, unit.error_type, unit.retryable) == (
        UnitStatus.FAILED,
        ErrorType.FETCH_FAILED,
        True,
    )
    assert "redirect to https://elsewhere.example/moved" in unit.error_message
    assert [r["status"] for r in simulator.requests()] == [302, 302]

    assert actions.retry_failed(job=job) == 1
    job = finished(job)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.units.get().status == UnitStatus.SUCCEEDED
