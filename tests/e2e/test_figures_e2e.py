"""One definition of each figure, and rankings from every district, end to end: collections by a
real Celery worker from the simulator over HTTP, analytics jobs run by the worker, the documents
compared with the district files the engine wrote (issue 17, sections 1 and 2).

2025-06-20 in the simulator is the issue's example: district 2 has 98 clubs, 86 `Active`, 3
`Low`, 2 `Ineligible` and 7 suspended, so 91 active clubs (the summary's Active Clubs) and 15
distinguished: 16.48 % (the analytics said 17.44 %, dividing by the 86 `Active`).
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from analytics import documents
from analytics import services as analytics
from backfill.contracts import backfill_request
from backfill.models import JobStatus, UnitStatus
from backfill.services import jobs
from districts.dashboard import figures
from snapshots import store
from tests.fixtures.jobs import export_requests, finished

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2025, 6, 20)
DISTRICTS = ["2", "9", "F"]


def run(**fields):
    request = {"updateAnalytics": False, **fields}
    if fields.get("jobType") != "analytics-generation":
        request["enableCaching"] = False  # every request reaches the simulator's log
    job = finished(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.COMPLETED, job.error_summary
    return job


def generate_analytics() -> None:
    run(jobType="analytics-generation", targetDistricts=DISTRICTS)


def series_point(district_id: str) -> dict:
    document = documents.read_district_series(district_id=district_id, program_year="2024-2025")
    (point,) = [p for p in document["series"] if p["date"] == DAY.isoformat()]
    return point


def wipe(root) -> None:
    """A fresh store: the snapshots, the raw archive and the analytics go."""
    for child in root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def test_analytics_figures_and_rankings_are_the_same_for_every_strategy(
    celery_worker_process, simulator, snapshot_root
):
    # System-wide: one summary, every district at summary detail.
    run(startDate=DAY.isoformat(), collectionType="system-wide")
    generate_analytics()
    system_wide = {}
    for district_id in DISTRICTS:
        stored = store.read_district(logical_date=DAY, district_id=district_id)
        point = series_point(district_id)
        assert stored.detail == point["detail"] == "summary"
        assert point["distinguishedClubs"]["percent"] == stored.clubs.distinguished_percent
        assert point["activeClubs"] == stored.clubs.active  # the summary's Active Clubs
        assert point["paidClubs"] == stored.clubs.paid
        assert point["payments"]["total"] == stored.payments.total_ytd
        system_wide[district_id] = point
    rankings = documents.read_rankings(logical_date=DAY)
    assert rankings["districtCount"] > 80

    # Per-district, into a fresh store: full detail for three districts, and the date's
    # all-districts summary for the rankings (one request), stored as date-level data only.
    wipe(snapshot_root)
    simulator.reset()
    job = run(startDate=DAY.isoformat(), targetDistricts=DISTRICTS)
    assert job.collection_strategy == "per-district"
    assert sorted(store.list_districts(logical_date=DAY)) == sorted(DISTRICTS)
    assert sorted(store.read_manifest(logical_date=DAY)["detailLevels"]) == sorted(DISTRICTS)
    summaries = [r for r in export_requests(simulator) if "districtsummary" in r["path"]]
    assert len(summaries) == 1
    assert len(export_requests(simulator)) == 3 * len(DISTRICTS) + 1
    generate_analytics()
    for district_id in DISTRICTS:
        stored = store.read_district(logical_date=DAY, district_id=district_id)
        point = series_point(district_id)
        assert stored.detail == point["detail"] == "full"
        # The analytics figure is the district file's, and no longer jumps with the source.
        assert point["distinguishedClubs"]["percent"] == stored.clubs.distinguished_percent
        assert point["activeClubs"] == stored.clubs.total - stored.clubs.suspended
        assert point["clubsByStatus"]["active"] == stored.clubs.active
        for figure in ("activeClubs", "paidClubs"):
            assert point[figure] == system_wide[district_id][figure]
        assert (
            point["distinguishedClubs"]["percent"]
            == system_wide[district_id]["distinguishedClubs"]["percent"]
        )
        assert (
            point["distinguishedClubs"]["total"]
            == (system_wide[district_id]["distinguishedClubs"]["total"])
        )
    point = series_point("2")
    assert (point["activeClubs"], point["distinguishedClubs"]["total"]) == (91, 15)
    assert point["distinguishedClubs"]["percent"] == 16.48  # was 17.44
    assert point["clubsByStatus"]["active"] == 86

    # Rankings of the per-district date: every district, three categories, as system-wide.
    per_district = documents.read_rankings(logical_date=DAY)
    assert per_district["rankings"] == rankings["rankings"]
    assert per_district["districtCount"] == rankings["districtCount"]
    assert all(r["values"]["paymentGrowthPercent"] is not None for r in per_district["rankings"])


def test_without_the_summary_a_per_district_date_gets_no_rankings(
    celery_worker_process, simulator, snapshot_root
):
    job = run(startDate=DAY.isoformat(), targetDistricts=DISTRICTS[:2], collectSummary=False)
    assert len(export_requests(simulator)) == 3 * 2
    assert not analytics.summary_archived(DAY)
    analytics_job = finished(
        jobs.create_job(
            request=backfill_request(
                {"jobType": "analytics-generation", "targetDistricts": DISTRICTS[:2]}
            )
        )
    )
    assert analytics_job.status == JobStatus.COMPLETED, analytics_job.error_summary
    unit = analytics_job.units.get(district_id="*")
    assert unit.status == UnitStatus.UNAVAILABLE
    assert "no all-districts summary" in unit.error_message
    assert documents.read_rankings(logical_date=DAY) is None
    assert job.collection_strategy == "per-district"
    # The time series are still written from the district files.
    assert figures.active_clubs(store.read_district(logical_date=DAY, district_id="2")) == 91
    assert series_point("2")["distinguishedClubs"]["percent"] == 16.48
