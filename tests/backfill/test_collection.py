"""backfill/services/collection.py: one unit against the simulator over real HTTP, in-process.

The units run in this process (no worker) so a test can make one step misbehave; Celery's
broker is replaced by a recorder (`jobs._send`), everything else is real: PostgreSQL, Redis
(limiter, breaker, cache), the HTTP client and the snapshot store.
"""

from __future__ import annotations

from datetime import date

import pytest

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, UnitStatus
from backfill.services import collection, jobs
from districts.dashboard import collect
from districts.dashboard.errors import ErrorType
from snapshots import store

pytestmark = pytest.mark.django_db(transaction=True)


def run_to_the_end(job: BackfillJob) -> BackfillJob:
    """Start the job and run its claimed units here, one at a time, until none is left."""
    jobs.start_queued_jobs()
    for _ in range(100):
        claimed = list(job.units.filter(status=UnitStatus.RUNNING).values_list("id", flat=True))
        if not claimed:
            break
        for unit_id in claimed:
            collection.run_unit(unit_id=unit_id)
    job.refresh_from_db()
    return job


def test_an_unexpected_error_fails_only_its_unit_and_the_job_goes_on(
    backfill_env, fast_limits, sent, monkeypatch
):
    normalize = collect.normalize_district

    def broken_for_61(**kwargs):
        if kwargs["district_id"] in ("61", "61".zfill(2)):
            raise KeyError("club_status")  # what a renamed column once did to the normalizer
        return normalize(**kwargs)

    monkeypatch.setattr(collect, "normalize_district", broken_for_61)
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-11",
                "targetDistricts": ["42", "61"],
            }
        )
    )

    job = run_to_the_end(job)

    assert job.status == JobStatus.PARTIAL_SUCCESS
    assert (job.succeeded_units, job.failed_units) == (2, 2)
    for unit in job.units.filter(district_id="61"):
        assert unit.status == UnitStatus.FAILED
        assert unit.error_type == ErrorType.PROCESSING_FAILED
        assert unit.retryable is False
        assert "KeyError" in unit.error_message and "club_status" in unit.error_message
    manifest = store.read_manifest(logical_date=date(2025, 3, 10))
    assert manifest["status"] == "partial_success"
    assert [e["districtId"] for e in manifest["errors"]] == ["61"]
    assert manifest["errors"][0]["errorType"] == "processing_failed"
    assert store.read_district(logical_date=date(2025, 3, 10), district_id="61") is None
    assert store.read_district(logical_date=date(2025, 3, 10), district_id="42") is not None
