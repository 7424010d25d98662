"""Publish and import jobs through the engine, their units run in this process
(backfill/services/site_units.py, the indexes step in assembly.py): what they write, what they
record, and a publish job paused, cancelled and retried."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import redis

from backfill.contracts import backfill_request
from backfill.models import JobStatus, JobType, PublishStep, UnitStatus
from backfill.services import actions, dispatch, execution, jobs
from backfill_project.redis_locks import renewed_lock
from districts.dashboard.errors import ErrorType
from districts.ids import ALL_DISTRICTS
from snapshots import store
from tests.fixtures.backfill import lease_token
from tests.fixtures.jobs import run_to_the_end
from tests.fixtures.site_tree import simulated_site
from website import publishing
from website.importing import import_site

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = [date(2025, 3, 10), date(2025, 3, 11)]
DISTRICTS = ["2", "21", "F"]


@pytest.fixture
def stored(snapshot_root, tmp_path) -> list[date]:
    """Two dates of three districts in the store (imported from a simulated site tree)."""
    import_site(f"file://{simulated_site(tmp_path / 'history', DAYS, DISTRICTS)}")
    assert store.stored_dates() == DAYS
    return DAYS


def publish_job(destination: Path, **fields):
    request = {"jobType": "publish", "destination": f"file://{destination}", **fields}
    return jobs.create_job(request=backfill_request(request))


def steps(job) -> list[PublishStep]:
    return list(job.publish_steps.order_by("started_at", "id"))


def test_a_publish_job_writes_each_date_then_the_indexes_last(stored, sent, tmp_path):
    cdn = tmp_path / "cdn"
    job = publish_job(cdn)
    assert job.job_type == JobType.PUBLISH and job.collection_strategy == "publish"
    assert list(job.units.values_list("logical_date", "district_id")) == [
        (day, ALL_DISTRICTS) for day in DAYS
    ]

    job = run_to_the_end(job)

    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == 2 and job.assemblies.count() == 0
    assert sum(job.units.values_list("requests_made", flat=True)) == 0
    recorded = steps(job)
    assert [s.logical_date for s in recorded] == [*DAYS, None]
    for step in recorded[:2]:
        assert step.written > 0 and step.bytes > 0 and step.errors == []
        assert f"snapshots/{step.logical_date}/district_21.json" in step.paths
        assert all((cdn / path).is_file() for path in step.paths)
    indexes = recorded[-1]
    assert indexes.paths[-1] == "v1/latest.json"
    assert json.loads((cdn / "v1/latest.json").read_text())


def test_publishing_the_same_state_again_writes_nothing(stored, sent, tmp_path):
    cdn = tmp_path / "cdn"
    run_to_the_end(publish_job(cdn))
    before = {p: p.read_bytes() for p in cdn.rglob("*") if p.is_file()}

    again = run_to_the_end(publish_job(cdn))

    assert again.status == JobStatus.COMPLETED
    assert [(s.written, s.bytes) for s in steps(again)] == [(0, 0)] * 3
    assert {p: p.read_bytes() for p in cdn.rglob("*") if p.is_file()} == before


def test_a_cancelled_publish_job_writes_no_indexes(stored, sent, tmp_path):
    job = publish_job(tmp_path / "cdn", concurrency=1)
    actions.cancel_job(job=job)
    job = run_to_the_end(job)
    assert job.status == JobStatus.CANCELLED
    assert steps(job) == []
    assert not (tmp_path / "cdn" / "v1" / "latest.json").exists()


def test_a_paused_publish_job_writes_its_indexes_only_after_its_last_date(
    stored, sent, tmp_path, settings
):
    from backfill.services import dispatch

    settings.BACKFILL_STORE_BATCH_UNITS = 1  # one unit in flight (its slot's batch)
    job = publish_job(tmp_path / "cdn", concurrency=1)
    dispatch.start_queued_jobs()
    running = job.units.get(status=UnitStatus.RUNNING)
    actions.pause_job(job=job)
    execution.run_unit(unit_id=running.pk, token=lease_token(running.pk))  # in flight: finishes
    job.refresh_from_db()
    assert job.status == JobStatus.PAUSED
    assert [s.logical_date for s in steps(job)] == [DAYS[0]]

    actions.resume_job(job=job)
    job = run_to_the_end(job)

    assert job.status == JobStatus.COMPLETED
    assert [s.logical_date for s in steps(job)] == [*DAYS, None]


def test_a_failed_date_is_retried_and_the_indexes_follow_it(stored, sent, tmp_path):
    cdn = tmp_path / "cdn"
    # A file where the second date's directory must go: that date cannot be written.
    blocker = cdn / "snapshots" / DAYS[1].isoformat()
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")
    job = run_to_the_end(publish_job(cdn, retryFailures=False))

    assert job.status == JobStatus.PARTIAL_SUCCESS
    failed = job.units.get(status=UnitStatus.FAILED)
    assert failed.logical_date == DAYS[1] and failed.error_type == ErrorType.PROCESSING_FAILED
    assert "not written" in failed.error_message
    assert [s.logical_date for s in steps(job)] == [*DAYS, None]
    assert steps(job)[1].errors
    # The indexes name only the date whose files are all there.
    assert DAYS[1].isoformat() not in (cdn / "v1" / "latest.json").read_text()

    blocker.unlink()
    assert actions.retry_failed(job=job) == 1
    job = run_to_the_end(job)

    assert job.status == JobStatus.COMPLETED
    assert [s.logical_date for s in steps(job)][-2:] == [DAYS[1], None]
    assert DAYS[1].isoformat() in (cdn / "v1" / "latest.json").read_text()


def test_an_import_job_stores_the_site_and_refuses_files_that_fail_a_contract(
    snapshot_root, sent, simulator, tmp_path
):
    site = simulated_site(tmp_path / "site", DAYS, DISTRICTS)
    bad = site / "snapshots" / DAYS[1].isoformat() / "district_21.json"
    bad.write_text(json.dumps({**json.loads(bad.read_text()), "status": "exploded"}))

    job = jobs.create_job(request=backfill_request({"jobType": "import", "source": str(site)}))
    assert job.collection_strategy == "import" and job.total_units == 2
    job = run_to_the_end(job)

    assert job.status == JobStatus.PARTIAL_SUCCESS
    failed = job.units.get(status=UnitStatus.FAILED)
    assert failed.logical_date == DAYS[1] and failed.retryable is False
    assert failed.error_type == ErrorType.VALIDATION_FAILED
    assert (
        "district_21.json" in failed.error_message and "1 file(s) refused" in failed.error_message
    )
    assert job.error_summary["byType"] == {ErrorType.VALIDATION_FAILED: 1}
    assert store.list_districts(logical_date=DAYS[0]) == DISTRICTS
    assert "21" not in store.list_districts(logical_date=DAYS[1])
    assert simulator.requests() == []


def test_importing_a_date_already_stored_skips_it(stored, sent, tmp_path):
    site = simulated_site(tmp_path / "again", DAYS[:1], DISTRICTS)
    job = run_to_the_end(
        jobs.create_job(request=backfill_request({"jobType": "import", "source": str(site)}))
    )
    assert job.status == JobStatus.COMPLETED
    assert job.skipped_units == 1


def test_indexes_wait_for_another_publish_to_the_destination(
    stored, sent, tmp_path, monkeypatch, settings
):
    cdn = tmp_path / "cdn"
    monkeypatch.setattr(publishing, "LOCK_WAIT_SECONDS", 0.2)
    key = f"{settings.BACKFILL_LIMITS_KEY_PREFIX}:website:publish:file://{cdn}"
    with renewed_lock(redis.Redis.from_url(settings.REDIS_URL), key, lease=10, wait=1):
        job = run_to_the_end(publish_job(cdn))
        # Every date is written; the indexes wait for the other publish, the job with them.
        assert job.status == JobStatus.RUNNING and job.succeeded_units == 2
        assert [s.logical_date for s in steps(job)] == DAYS
        assembly = job.assemblies.get()

    # The next reclaim sends it again (`recovery.reclaim_lost_units`).
    dispatch.assemble_and_dispatch(assembly_id=assembly.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert [s.logical_date for s in steps(job)] == [*DAYS, None]
