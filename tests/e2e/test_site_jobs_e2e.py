"""Publish and import jobs end to end on a real Celery worker: a collection from the simulator is
followed by a publish to a directory (PUBLISH_AFTER_COLLECTION), and an import job reads that
directory back into an emptied store with the same figures and no request to the dashboard; a
publish job paused, cancelled and retried on the worker."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus, JobType
from backfill.services import actions, jobs
from snapshots import store
from snapshots.models import Snapshot
from tests.fixtures.jobs import export_requests, finished
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site

pytestmark = pytest.mark.django_db(transaction=True)

TARGETS = ["20", "21"]
DAYS = (date(2025, 3, 10), date(2025, 3, 11))


@pytest.fixture
def cdn(settings, backfill_env, tmp_path):
    """Publishing after a collection to a directory, in this process and in the worker."""
    root = tmp_path / "cdn"
    settings.PUBLISH_DESTINATION = f"file://{root}"
    settings.PUBLISH_AFTER_COLLECTION = True
    backfill_env["PUBLISH_DESTINATION"] = f"file://{root}"
    backfill_env["PUBLISH_AFTER_COLLECTION"] = "true"
    return root


def test_a_collection_is_published_and_the_published_tree_imports_back(
    cdn, celery_worker_process, simulator, snapshot_root
):
    collection = finished(
        jobs.create_job(
            request=backfill_request(
                {
                    "startDate": DAYS[0].isoformat(),
                    "endDate": DAYS[1].isoformat(),
                    "targetDistricts": TARGETS,
                    "collectionType": "per-district",
                }
            )
        )
    )
    assert collection.status == JobStatus.COMPLETED, collection.error_summary

    publish = finished(collection.follow_ups.get())
    assert publish.job_type == JobType.PUBLISH, publish.error_summary
    assert publish.status == JobStatus.COMPLETED, publish.error_summary
    assert sum(publish.units.values_list("requests_made", flat=True)) == 0
    steps = list(publish.publish_steps.order_by("started_at", "id"))
    assert [s.logical_date for s in steps] == [*DAYS, None]
    assert steps[-1].paths[-1] == "v1/latest.json"
    for day in DAYS:
        for district_id in TARGETS:
            assert (cdn / "snapshots" / day.isoformat() / f"district_{district_id}.json").is_file()
    assert json.loads((cdn / "v1" / "latest.json").read_text())

    collected = {
        (day, d): store.read_district(logical_date=day, district_id=d)
        for day in DAYS
        for d in TARGETS
    }
    # An empty store: no file, no index row.
    for child in snapshot_root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    Snapshot.objects.all().delete()
    asked = len(export_requests(simulator))

    imported = finished(
        jobs.create_job(request=backfill_request({"jobType": "import", "source": f"file://{cdn}"}))
    )

    assert imported.status == JobStatus.COMPLETED, imported.error_summary
    assert imported.succeeded_units == len(DAYS)
    assert len(export_requests(simulator)) == asked
    for (day, district_id), statistics in collected.items():
        again = store.read_district(logical_date=day, district_id=district_id)
        assert store.district_sha256(again) == store.district_sha256(statistics)


def test_a_publish_job_paused_cancelled_and_retried_on_the_worker(
    backfill_env, celery_worker_process, snapshot_root, tmp_path
):
    import_site(str(simulated_site(tmp_path / "site", list(DAYS), TARGETS)))
    cdn = tmp_path / "cdn"
    blocker = cdn / "snapshots" / DAYS[1].isoformat()  # a file where a directory must go
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")
    request = {"jobType": "publish", "destination": f"file://{cdn}", "retryFailures": False}

    cancelled = jobs.create_job(request=backfill_request(request))
    actions.cancel_job(job=cancelled)
    assert finished(cancelled).status == JobStatus.CANCELLED

    job = jobs.create_job(request=backfill_request(request))
    actions.pause_job(job=job)
    time.sleep(1)  # whatever the worker had in flight ends; the job waits for its resume
    job.refresh_from_db()
    assert job.status == JobStatus.PAUSED
    actions.resume_job(job=job)
    job = finished(job)
    assert job.status == JobStatus.PARTIAL_SUCCESS
    assert job.units.get(status="failed").logical_date == DAYS[1]
    assert DAYS[1].isoformat() not in (cdn / "v1" / "latest.json").read_text()

    blocker.unlink()
    actions.retry_failed(job=job)
    job = finished(job)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert DAYS[1].isoformat() in (cdn / "v1" / "latest.json").read_text()
    assert [s.logical_date for s in job.publish_steps.order_by("started_at", "id")][-2:] == [
        DAYS[1],
        None,
    ]
