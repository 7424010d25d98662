"""Running one unit (services/execution.py, collecting.py) against the simulator over real HTTP,
in-process.

The units run in this process (no worker) so a test can make one step misbehave; Celery's
broker is replaced by a recorder (`broker.send`), everything else is real: PostgreSQL, Redis
(limiter, breaker, cache), the HTTP client and the snapshot store.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from analytics import services as analytics
from backfill import limits
from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, UnitStatus
from backfill.services import closing_dates, collecting, jobs
from districts.dashboard import collect
from districts.dashboard.errors import DashboardError, ErrorType
from snapshots import store
from tests.fixtures.jobs import run_to_the_end
from tests.snapshots.factories import DistrictStatisticsFactory

pytestmark = pytest.mark.django_db(transaction=True)


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


# --- work another job did since planning --------------------------------------------------


def two_jobs(request: dict) -> tuple[BackfillJob, BackfillJob]:
    """Two jobs of `request` created one after the other, both planned before either ran."""
    first = jobs.create_job(request=backfill_request(request))
    return first, jobs.create_job(request=backfill_request(request))


def export_requests(simulator) -> int:
    return sum("export.aspx" in r["path"] for r in simulator.requests())


def test_units_another_job_stored_since_planning_are_skipped_without_a_request(
    backfill_env, fast_limits, sent, simulator
):
    first, second = two_jobs(
        {"startDate": "2025-03-10", "targetDistricts": ["42", "61"], "enableCaching": False}
    )
    assert run_to_the_end(first).succeeded_units == 2
    assert export_requests(simulator) == 7  # 2 x 3 reports and the date's summary

    second = run_to_the_end(second)

    assert export_requests(simulator) == 7  # 2 x 3 reports and the date's summary
    assert (second.status, second.skipped_units, second.succeeded_units) == (
        JobStatus.COMPLETED,
        2,
        0,
    )
    for unit in second.units.all():
        assert (
            unit.error_message == f"stored meanwhile by job {first.pk}, after this job was planned"
        )
        assert (unit.requests_made, unit.error_type) == (0, "")


def test_identical_system_wide_jobs_download_each_summary_once(
    backfill_env, fast_limits, sent, simulator
):
    first, second = two_jobs(
        {"startDate": "2025-03-10", "endDate": "2025-03-11", "enableCaching": False}
    )
    assert run_to_the_end(first).succeeded_units == 2

    second = run_to_the_end(second)

    assert export_requests(simulator) == 2
    assert (second.status, second.skipped_units) == (JobStatus.COMPLETED, 2)


def test_a_job_that_reprocesses_everything_collects_again(
    backfill_env, fast_limits, sent, simulator
):
    first, second = two_jobs(
        {
            "startDate": "2025-03-10",
            "targetDistricts": ["42"],
            "enableCaching": False,
            "reprocess": "all",
        }
    )
    run_to_the_end(first)

    second = run_to_the_end(second)

    assert (second.succeeded_units, second.skipped_units) == (1, 0)
    assert export_requests(simulator) == 3 + 1 + 3  # the summary is stored once


def test_summary_data_stored_meanwhile_does_not_skip_a_full_detail_unit(
    backfill_env, fast_limits, sent, simulator
):
    summary = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "targetDistricts": ["42", "61"],
                "collectionType": "system-wide",
                "enableCaching": False,
            }
        )
    )
    full = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42"], "enableCaching": False}
        )
    )
    assert run_to_the_end(summary).succeeded_units == 1

    full = run_to_the_end(full)

    assert (full.succeeded_units, full.skipped_units) == (1, 0)
    assert export_requests(simulator) == 1 + 3
    stored = store.read_district(logical_date=date(2025, 3, 10), district_id="42")
    assert stored.detail == "full"


def test_data_stored_without_another_job_having_stored_it_is_collected(
    backfill_env, fast_limits, sent, simulator
):
    """The unit's own earlier attempt (a runner that died after writing its file) is no other
    job: the unit runs again, so that its job assembles the date."""
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42"], "enableCaching": False}
        )
    )
    day = date(2025, 3, 10)
    store.write_district(
        logical_date=day,
        statistics=DistrictStatisticsFactory(district_id="42", logical_date=day, detail="full"),
    )

    job = run_to_the_end(job)

    assert (job.succeeded_units, job.skipped_units) == (1, 0)
    assert store.read_manifest(logical_date=day)["jobId"] == str(job.pk)


def test_a_per_district_date_fetches_its_summary_once_and_a_failure_keeps_the_district(
    backfill_env, fast_limits, sent, simulator, monkeypatch
):
    request = {"startDate": "2025-03-10", "targetDistricts": ["42", "61"], "enableCaching": False}
    calls = []
    fetch = collecting.collect_summary

    def failing_once(*args, **kwargs):
        calls.append(kwargs["logical_date"])
        if len(calls) == 1:
            raise DashboardError(ErrorType.NETWORK_ERROR, "refused", retryable=True)
        return fetch(*args, **kwargs)

    monkeypatch.setattr(collecting, "collect_summary", failing_once)
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))

    # The first unit's summary request failed: its district is stored all the same, and the
    # date's next unit brought the summary; no summary request after that.
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert calls == [date(2025, 3, 10)] * 2
    assert store.list_districts(logical_date=date(2025, 3, 10)) == ["42", "61"]
    assert analytics.summary_archived(date(2025, 3, 10))
    summaries = [r for r in simulator.requests() if "districtsummary" in r["path"]]
    assert len(summaries) == 1
    # Stored: a second job over the date sends no summary request.
    run_to_the_end(jobs.create_job(request=backfill_request({**request, "reprocess": "all"})))
    assert calls == [date(2025, 3, 10)] * 2


def test_the_one_process_locks_live_only_as_long_as_their_holder():
    """A worker killed while it probes a month or downloads a date's summary must not hold the
    other units of that date for the whole wait (300 s): the lock's lease is short and renewed."""
    name = f"{limits.key_prefix()}:date-summary:test-{uuid.uuid4().hex}"
    with closing_dates.one_at_a_time(name):
        ttl_ms = limits.get_redis().pttl(name)
    assert 0 < ttl_ms <= closing_dates.DISCOVERY_LOCK_LEASE_SECONDS * 1000
    assert closing_dates.DISCOVERY_LOCK_LEASE_SECONDS * 10 <= closing_dates.DISCOVERY_LOCK_SECONDS
    assert limits.get_redis().exists(name) == 0
