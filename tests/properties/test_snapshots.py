"""Properties 4, 5 and 6: what a job stores, run by the real engine in this process.

Each example configures a scope, builds a small job (1-2 dates, a few districts) and runs it
through the Celery tasks in-process (`engine`, tests/properties/conftest.py) against PostgreSQL,
Redis (limiter, breaker, response cache) and the simulator over HTTP, into a snapshot store of
its own. The response cache is shared by the examples of a test, so an export already fetched is
not generated again (a cached export is one the engine accepted; faults are never cached).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, CollectionStrategy, JobStatus, UnitStatus
from backfill.services import jobs
from districts import services as district_services
from districts.dashboard.reports import PER_DISTRICT_REPORTS, ReportType
from districts.ids import site_district_id
from snapshots import store
from snapshots.models import Snapshot
from snapshots.store.layout import DISTRICT_FILE_RE
from tests.properties.conftest import COLLECTABLE_DATES, DISTRICT_POOL, fresh_store, reset_limits

pytestmark = [pytest.mark.properties, pytest.mark.django_db(transaction=True)]

ENGINE_SETTINGS = hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLLECTION_TYPES = ("auto", "system-wide", "per-district")


def spelled(district_id: str, padded: bool) -> str:
    """A district id as a request may spell it (`9` or `09`)."""
    return site_district_id(district_id) if padded else district_id


@st.composite
def scoped_requests(draw, *, collection_types=COLLECTION_TYPES, max_dates: int = 2):
    """(configured scope, request body, the districts the job must cover).

    Targets are in-scope districts (none: the whole configured scope) plus, when there are some,
    out-of-scope ones that planning excludes; ids come as `9` or `09`."""
    configured = draw(st.lists(st.sampled_from(DISTRICT_POOL), min_size=1, max_size=4, unique=True))
    in_scope = draw(st.lists(st.sampled_from(configured), max_size=len(configured), unique=True))
    outside = [d for d in DISTRICT_POOL if d not in configured]
    extra = draw(st.lists(st.sampled_from(outside), max_size=2, unique=True)) if in_scope else []
    targets = draw(st.permutations(in_scope + extra))
    padded = draw(st.lists(st.booleans(), min_size=len(targets), max_size=len(targets)))
    first = draw(st.integers(0, len(COLLECTABLE_DATES) - 1))
    days = draw(st.integers(1, min(max_dates, len(COLLECTABLE_DATES) - first)))
    start = COLLECTABLE_DATES[first]
    body = {
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=days - 1)).isoformat(),
        "collectionType": draw(st.sampled_from(collection_types)),
    }
    if targets:
        body["targetDistricts"] = [spelled(d, p) for d, p in zip(targets, padded, strict=True)]
    covered = set(in_scope) if in_scope else set(configured)
    return configured, body, covered


def job_dates(job: BackfillJob) -> list[date]:
    return [
        job.start_date + timedelta(days=i) for i in range((job.end_date - job.start_date).days + 1)
    ]


def district_files(root: Path, day: date) -> set[str]:
    """The districts whose file the date's directory holds."""
    directory = root / day.isoformat()
    if not directory.is_dir():
        return set()
    return {m[1] for p in directory.iterdir() if (m := DISTRICT_FILE_RE.match(p.name))}


def run(engine, configured: list[str], body: dict) -> BackfillJob:
    district_services.set_configured_districts(district_ids=configured)
    reset_limits()
    return engine.run_job(jobs.create_job(request=backfill_request(body)))


# --- Property 4 -------------------------------------------------------------------------------


@ENGINE_SETTINGS
@given(case=scoped_requests(max_dates=2))
def test_completed_jobs_store_directories_of_district_files_with_their_manifest(engine, case):
    """Feature: unified-backfill-service, Property 4: Snapshot Storage Consistency

    For any completed job (any collection type and scope), each date is a directory of
    `district_<id>.json` files and one `manifest.json` whose metadata (snapshot id, date, status,
    strategy, scope, job, detail level, size and sha256 of every file) describes exactly what is
    on disk and is mirrored by the `Snapshot` index row; the exports are in the raw archive."""
    configured, body, covered = case
    with fresh_store() as root:
        job = run(engine, configured, body)
        assert job.status == JobStatus.COMPLETED, job.error_summary
        detail = "full" if job.collection_strategy == CollectionStrategy.PER_DISTRICT else "summary"
        dates = job_dates(job)
        assert {p.name for p in root.iterdir()} == {d.isoformat() for d in dates} | {"raw"}
        for day in dates:
            directory = root / day.isoformat()
            # The date's lock file (filesystem store) is the only other name there.
            names = {p.name for p in directory.iterdir()} - {store.LOCK_FILE}
            assert names == {"manifest.json"} | {f"district_{d}.json" for d in covered}
            manifest = json.loads((directory / "manifest.json").read_bytes())
            assert manifest["snapshotId"] == manifest["date"] == day.isoformat()
            assert manifest["status"] == "completed" and manifest["errors"] == []
            assert manifest["collectionStrategy"] == job.collection_strategy
            assert manifest["jobId"] == str(job.pk)
            assert set(manifest["scope"]) == covered
            assert manifest["detailLevels"] == dict.fromkeys(manifest["detailLevels"], detail)
            assert set(manifest["detailLevels"]) == covered
            as_of = date.fromisoformat(manifest["asOfDate"])
            assert manifest["dataMonth"] == f"{day:%Y-%m}"
            for entry in manifest["files"]:
                data = (directory / entry["file"]).read_bytes()
                assert entry["file"] == f"district_{entry['districtId']}.json"
                assert (entry["size"], entry["sha256"]) == (
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                )
                statistics = store.read_district(logical_date=day, district_id=entry["districtId"])
                assert statistics.district_id == entry["districtId"]
                assert (statistics.logical_date, statistics.as_of_date) == (day, as_of)
                assert statistics.detail == detail
            assert sorted(e["districtId"] for e in manifest["files"]) == sorted(covered)
            row = Snapshot.objects.get(logical_date=day)
            assert (row.status, row.collection_strategy, row.district_count, row.job_id) == (
                "completed",
                job.collection_strategy,
                len(covered),
                job.pk,
            )
            assert row.size_bytes == sum(e["size"] for e in manifest["files"])
            raw = root / "raw" / as_of.isoformat()
            if detail == "full":
                for report in PER_DISTRICT_REPORTS:
                    archived = {p.name for p in (raw / report).iterdir()}
                    assert {f"district_{d}.csv" for d in covered} <= archived
            else:
                assert (raw / ReportType.DISTRICT_SUMMARY / "all.csv").is_file()


# --- Property 5 -------------------------------------------------------------------------------


@ENGINE_SETTINGS
@given(case=scoped_requests(max_dates=2))
def test_a_snapshot_holds_exactly_the_districts_of_the_job_scope(engine, case):
    """Feature: unified-backfill-service, Property 5: Scope-Based Snapshot Content

    For any job over a configured scope (no targets: every configured district; targets: the
    in-scope ones, out-of-scope ones excluded; `9` or `09`; any collection type), the snapshot of
    every date has a district file for exactly the districts of the scope, whether they came
    from per-district exports or were kept from the all-districts summary."""
    configured, body, covered = case
    with fresh_store() as root:
        job = run(engine, configured, body)
        assert job.status == JobStatus.COMPLETED, job.error_summary
        for day in job_dates(job):
            assert district_files(root, day) == covered, (day, job.collection_strategy)
            assert set(store.list_districts(logical_date=day)) == covered
            manifest = store.read_manifest(logical_date=day)
            assert {f["districtId"] for f in manifest["files"]} == covered


# --- Property 6 -------------------------------------------------------------------------------

# Districts that fail in every example they are in: their exports are never accepted, so never
# cached, and each fault reaches the simulator.
FAULTY_POOL = ("7", "12", "33", "56")
HEALTHY_POOL = tuple(d for d in DISTRICT_POOL if d not in FAULTY_POOL)
FAULT_KINDS = {
    # fault -> (simulator fault configuration for the districts, error type, retryable)
    "http_500": (lambda ds: {"districts": ds, "error_rate": 1.0}, "fetch_failed", True),
    "error_page": (lambda ds: {"failing_districts": ds}, None, False),
    "malformed": (lambda ds: {"districts": ds, "malformed_rate": 1.0}, None, False),
}


@st.composite
def faulty_jobs(draw):
    healthy = draw(st.lists(st.sampled_from(HEALTHY_POOL), max_size=3, unique=True))
    faulty = draw(st.lists(st.sampled_from(FAULTY_POOL), min_size=1, max_size=2, unique=True))
    kind = draw(st.sampled_from(sorted(FAULT_KINDS)))
    targets = draw(st.permutations(healthy + faulty))
    first = draw(st.integers(0, len(COLLECTABLE_DATES) - 2))
    days = draw(st.integers(1, 2))
    start = COLLECTABLE_DATES[first]
    body = {
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=days - 1)).isoformat(),
        "targetDistricts": list(targets),
        "collectionType": "per-district",
        "retryFailures": draw(st.booleans()),
    }
    return set(healthy), set(faulty), kind, body


@ENGINE_SETTINGS
@given(case=faulty_jobs())
def test_failing_districts_leave_partial_snapshots_with_their_errors(
    engine, simulator, settings, case
):
    """Feature: unified-backfill-service, Property 6: Error Resilience and Partial Success

    For any per-district job where the dashboard fails some districts (HTTP 500, an error page,
    a malformed CSV: set through the simulator's fault endpoint), the other districts are still
    collected; every date's snapshot holds exactly the districts that succeeded, is
    `partial_success` (`failed` when none did), and records each failed district with its error
    type and message; the failed units carry the error, the job ends `partial_success` (or
    `failed`) and its error summary names the failed districts."""
    healthy, faulty, kind, body = case
    settings.DASHBOARD_MAX_ATTEMPTS = 1  # the unit's own retries are the ones under test
    settings.BACKFILL_BREAKER_FAILURES = 1_000  # the breaker opening is another property
    configure, error_type, retryable = FAULT_KINDS[kind]
    faults = requests.post(
        f"{simulator.base_url}/_simulator/faults", json=configure(sorted(faulty)), timeout=5
    )
    faults.raise_for_status()
    with fresh_store() as root:
        job = run(engine, list(healthy | faulty), body)
        expected = JobStatus.PARTIAL_SUCCESS if healthy else JobStatus.FAILED
        assert job.status == expected, job.error_summary
        for day in job_dates(job):
            assert district_files(root, day) == healthy
            manifest = store.read_manifest(logical_date=day)
            assert manifest["status"] == ("partial_success" if healthy else "failed")
            errors = {e["districtId"]: e for e in manifest["errors"]}
            assert set(errors) == faulty
            for error in errors.values():
                assert error["errorType"] and error["message"]
                if error_type:
                    assert error["errorType"] == error_type
        failed = job.units.filter(status=UnitStatus.FAILED)
        assert {u.district_id for u in failed} == faulty
        assert job.failed_units == len(faulty) * len(job_dates(job))
        assert job.succeeded_units == len(healthy) * len(job_dates(job))
        for unit in failed:
            assert unit.error_type and unit.error_message and unit.retryable is retryable
            if retryable and body["retryFailures"]:
                assert unit.attempts > 1  # retried before it failed for good
        assert set(job.error_summary["affectedDistricts"]) == faulty
        assert job.error_summary["totalErrors"] == job.failed_units
