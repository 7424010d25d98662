"""Fault injection (`make faults`): workers killed with SIGKILL mid-job lose no unit and
duplicate no snapshot."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import date, timedelta

import pytest

from backfill.contracts import backfill_request
from backfill.models import BackfillUnit, JobStatus, UnitStatus
from backfill.services import jobs
from snapshots import store
from tests.backfill.test_engine_e2e import finished, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_worker_killed_mid_job_loses_no_unit_and_duplicates_no_snapshot(
    celery_worker_process, simulator, snapshot_root, capsys
):
    simulator.set_faults(latency_ms=150)
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-19",
                "targetDistricts": ["42", "61"],
                "concurrency": 2,
            }
        )
    )
    wait_for(job, [JobStatus.RUNNING])
    succeeded = job.units.filter(status=UnitStatus.SUCCEEDED)

    # 1. SIGKILL a pool process while it runs a unit: the task is rejected and redelivered.
    wait_until(lambda: succeeded.count() >= 2)
    os.kill(celery_worker_process.children()[0], signal.SIGKILL)

    # 2. SIGKILL the whole worker, then start a new one; recovery resumes the job.
    wait_until(lambda: succeeded.count() >= 8)
    celery_worker_process.kill()
    jobs.recover_jobs(stale_after=timedelta(microseconds=1))
    celery_worker_process.start()

    job = finished(job, timeout=90)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    units = BackfillUnit.objects.filter(job=job)
    assert units.count() == 20
    assert units.filter(status=UnitStatus.SUCCEEDED).count() == 20
    assert job.succeeded_units == 20  # each unit counted exactly once

    for offset in range(10):
        day = date(2025, 3, 10) + timedelta(days=offset)
        manifest = store.read_manifest(logical_date=day)
        assert manifest["status"] == "completed"
        assert sorted(f["districtId"] for f in manifest["files"]) == ["42", "61"]
        for district_id in ("42", "61"):
            stats = store.read_district(logical_date=day, district_id=district_id)
            assert stats.detail == "full"
    leftovers = [p for p in snapshot_root.rglob("*") if ".tmp" in p.name]
    assert leftovers == []

    reexecuted = units.filter(attempts__gt=1).count()
    with capsys.disabled():
        print(
            "\nfault report: "
            + json.dumps({"units": 20, "reExecuted": reexecuted, "recoveries": job.recovery_count})
        )
