"""Property 1: one job queue for every kind of backfill, through the real API and PostgreSQL.

Each example creates a generated sequence of jobs of every scope type (system-wide, targeted,
single-district), job type (data collection, analytics generation) and entry point (job API,
legacy route, the old district route; analytics from the job API only), with generated
priorities; the broker is a recorder.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill.models import BackfillJob, JobPriority, JobStatus
from backfill.services import dispatch
from snapshots import store
from tests.snapshots.factories import full_statistics

pytestmark = [pytest.mark.properties, pytest.mark.django_db]

STORED = date(2025, 3, 10)  # a stored snapshot, for analytics-generation jobs to read
KINDS = ("system-wide", "targeted", "single-district", "analytics")
ENTRY_POINTS = ("api", "legacy", "legacy-district")
PRIORITY_RANK = {"low": JobPriority.LOW, "normal": JobPriority.NORMAL, "urgent": JobPriority.URGENT}

creations = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(ENTRY_POINTS),
        st.sampled_from(sorted(PRIORITY_RANK)),
        st.integers(0, 5),  # which dates
    ),
    min_size=1,
    max_size=6,
)


def create(client, kind: str, entry: str, priority: str, offset: int) -> tuple[str, str]:
    """POST one job; returns (its id, the scope type it must have)."""
    day = f"2025-03-{10 + offset:02d}"
    body: dict = {"startDate": day, "endDate": day}
    scope_type = {"system-wide": "system-wide", "analytics": "system-wide"}.get(kind, "targeted")
    if kind == "targeted":
        body["targetDistricts"] = ["42", "61"]
    if kind == "single-district":
        scope_type = "single-district"
        if entry != "legacy-district":
            body["targetDistricts"] = ["42"]
    if kind == "analytics":
        body = {"jobType": "analytics-generation", "startDate": STORED.isoformat()}
    if entry == "api":
        body["priority"] = priority
        response = client.post("/api/admin/backfill", body, format="json")
        job_id = response.json().get("jobId")
    elif entry == "legacy-district" and kind == "single-district":
        response = client.post("/api/districts/42/backfill", body, format="json")
        job_id = response.json().get("backfillId")
    else:
        response = client.post("/api/districts/backfill", body, format="json")
        job_id = response.json().get("backfillId")
    assert response.status_code == 202, response.json()
    return job_id, scope_type


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=creations)
def test_every_kind_of_job_joins_one_queue_with_ids_unique_across_kinds(
    staff_client, sent, snapshot_root, plan
):
    """Feature: unified-backfill-service, Property 1: Job Queue Unification

    For any sequence of backfills of any kind (system-wide, targeted, single-district, analytics
    generation; analytics from the job API only), from any entry point (job API, legacy routes)
    and priority, every job gets an id unique across all kinds, is found under that id by the
    job API and the legacy route and in the one job history, and waits in one queue: queue
    positions run 1..n over all kinds in priority then creation order, and the queue starts the
    job at position 1."""
    cache.clear()  # the API's write throttle counts per test, not per example
    BackfillJob.objects.all().delete()
    if store.read_manifest(logical_date=STORED) is None:
        store.write_district(logical_date=STORED, statistics=full_statistics(logical_date=STORED))
        store.finalize_snapshot(
            logical_date=STORED,
            collection_strategy="per-district",
            scope=["42"],
            job_id=None,
            district_errors={},
        )
    created = []
    for kind, entry, priority, offset in plan:
        if kind == "analytics":
            entry = "api"  # the legacy routes start data collections only
        job_id, scope_type = create(staff_client, kind, entry, priority, offset)
        created.append((job_id, scope_type, priority if entry == "api" else "normal"))
    ids = [job_id for job_id, _, _ in created]
    assert len(set(ids)) == len(ids) == BackfillJob.objects.count()
    for job_id, scope_type, _ in created:
        assert uuid.UUID(job_id).version == 4
        new = staff_client.get(f"/api/admin/backfill/{job_id}")
        legacy = staff_client.get(f"/api/districts/backfill/{job_id}")
        assert new.status_code == legacy.status_code == 200
        assert new.json()["jobId"] == legacy.json()["backfillId"] == job_id
        assert new.json()["scope"]["scopeType"] == scope_type
    history = staff_client.get("/api/admin/backfill/jobs", {"limit": 500}).json()
    assert sorted(j["jobId"] for j in history["jobs"]) == sorted(ids)
    assert history["count"] == len(ids)

    # One queue: ordered by priority, then creation, whatever the kind or the entry point.
    order = sorted(range(len(created)), key=lambda i: (-PRIORITY_RANK[created[i][2]], i))
    positions = {
        job_id: staff_client.get(f"/api/admin/backfill/{job_id}").json()["waiting"]["position"]
        for job_id in ids
    }
    assert [positions[ids[i]] for i in order] == list(range(1, len(ids) + 1))
    started = dispatch.start_queued_jobs()
    first = ids[order[0]]
    assert started == [first]
    # It runs, or has ended already when every unit was planned done (stored, unavailable).
    assert BackfillJob.objects.get(pk=first).started_at is not None
    assert BackfillJob.objects.filter(status=JobStatus.PENDING).count() == len(ids) - len(started)
