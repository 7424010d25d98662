"""snapshots/store/ on an S3 bucket written by worker processes: a job whose workers on two
nodes share PostgreSQL, Redis and the bucket (the bucket's own behaviour is in
tests/snapshots/store/test_object_storage.py)."""

from __future__ import annotations

from datetime import date

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus
from backfill.services import jobs
from snapshots import store
from snapshots.services import snapshots_verify
from tests.fixtures.backfill import Worker
from tests.fixtures.jobs import finished
from tests.fixtures.s3 import CREDENTIALS

DAY = date(2025, 3, 10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_workers_on_two_nodes_collect_a_job_into_the_bucket(
    backfill_env, fast_limits, s3_root, s3_server, tmp_path
):
    """Two worker processes with their own node names, as two hosts would run them, share
    PostgreSQL, Redis and the bucket, and nothing else: no snapshot root on disk."""
    env = {
        **backfill_env,
        **CREDENTIALS,
        "SNAPSHOT_ROOT": str(tmp_path / "not-used"),
        "SNAPSHOT_STORAGE": "s3",
        "SNAPSHOT_S3_BUCKET": s3_root.bucket,
        "SNAPSHOT_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }
    workers = [
        Worker(env=env, log_path=tmp_path / f"{node}.log", hostname=f"{node}@%h")
        for node in ("worker1", "worker2")
    ]
    for worker in workers:
        worker.start()
    try:
        job = jobs.create_job(
            request=backfill_request(
                {
                    "startDate": "2025-03-10",
                    "endDate": "2025-03-12",
                    "targetDistricts": ["42", "61", "F"],
                }
            )
        )
        job = finished(job, timeout=90)
    finally:
        for worker in workers:
            worker.stop()

    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == 9
    for worker in workers:
        assert "backfill.tasks.run_unit" in worker.log(), "both nodes ran units"
    assert not (tmp_path / "not-used").exists()
    for day in (10, 11, 12):
        manifest = store.read_manifest(logical_date=date(2025, 3, day))
        assert manifest["status"] == "completed"
        assert manifest["detailLevels"] == {"42": "full", "61": "full", "F": "full"}
        assert manifest["jobId"] == str(job.pk)
    raw = s3_root / "raw" / "2025-03-10"
    assert {p.name for p in raw.rglob("*.csv")} == {
        "district_42.csv",
        "district_61.csv",
        "district_F.csv",
        "all.csv",  # the date's all-districts summary, for the rankings
    }
    assert store.archived_districts(as_of=DAY, report="clubperformance") == {"42", "61", "F"}
    assert snapshots_verify().found == ()
