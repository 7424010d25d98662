"""End to end with a real Celery worker: a month end of a month the registry does not know is
probed once (however many units run at once), then collected at the discovered closing date
with the district ids as the site writes them."""

from __future__ import annotations

from datetime import date

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus
from backfill.services import jobs
from districts.models import MonthEndClosing
from simulator.periods import next_month, simulated_closing_day
from snapshots import store
from tests.fixtures.jobs import finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_unknown_month_end_is_probed_once_then_collected_at_its_closing_date(
    celery_worker_process, simulator
):
    march = date(2016, 3, 1)
    closing = next_month(march).replace(day=simulated_closing_day(march))

    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2016-03-31", "targetDistricts": ["2", "42", "F"], "concurrency": 3}
        )
    )
    job = finished(job, timeout=90)

    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == 3
    log = [e for e in simulator.requests() if "export.aspx" in e["path"]]
    probes = [e for e in log if e["report"] == "districtsummary"]
    assert 1 <= len(probes) <= 6  # one prober; the other units found its answer
    collected = [e for e in log if e["report"] != "districtsummary"]
    assert len(collected) == 9
    assert {e["as_of"] for e in collected} == {closing.isoformat()}
    assert {e["district"] for e in collected} == {"02", "42", "F"}
    assert MonthEndClosing.objects.get(data_month=march).closing_date == closing
    statistics = store.read_district(logical_date=date(2016, 3, 31), district_id="2")
    assert statistics.district_id == "2"
    assert statistics.as_of_date == closing


def test_closing_days_of_an_undiscovered_month_cost_one_discovery_not_a_request_each(
    celery_worker_process, simulator
):
    # August 2026 is past the shipped registry; the simulator closes it on September 6.
    august = date(2026, 8, 1)
    closing = next_month(august).replace(day=simulated_closing_day(august))
    assert closing == date(2026, 9, 6)

    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2026-09-01",
                "endDate": "2026-09-08",
                "targetDistricts": ["42", "61"],
                # Every summary request below is then a discovery probe.
                "collectSummary": False,
            }
        )
    )
    job = finished(job, timeout=90)

    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert (job.unavailable_units, job.succeeded_units) == (12, 4)
    reasons = {u.error_message for u in job.units.filter(status="unavailable")}
    assert all("lies in the closing period of 2026-08" in reason for reason in reasons)
    log = [e for e in simulator.requests() if "export.aspx" in e["path"]]
    probes = [e for e in log if e["report"] == "districtsummary"]
    collected = [e for e in log if e["report"] != "districtsummary"]
    # One discovery (was: one request per closing day and district, 12, on top of the rest).
    assert 1 <= len(probes) <= 6
    assert sorted({e["as_of"] for e in collected}) == ["2026-09-07", "2026-09-08"]
    # Each report once (a pool process's first request of the live year may also try the
    # archive path, which answers 500).
    assert len([e for e in collected if e["status"] == 200]) == 2 * 2 * 3
    assert MonthEndClosing.objects.get(data_month=august).closing_date == closing
