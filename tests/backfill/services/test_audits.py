"""Audits of what is stored (backfill/services/audits.py): re-fetch over real HTTP from the
simulator, through the global limiter, compare with the hash the manifest recorded, record."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from backfill import limits
from backfill.contracts import backfill_request
from backfill.models import AuditOutcome, JobStatus, SnapshotAudit
from backfill.services import audits, jobs
from districts.models import MonthEndClosing
from snapshots import store
from tests.fixtures.jobs import run_to_the_end

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = (date(2025, 3, 10), date(2025, 3, 11))


@pytest.fixture
def stored(backfill_env, fast_limits, sent, simulator, snapshot_root):
    """Two closed dates of districts 42 (full detail) and 61 (full detail) stored from the
    simulator."""
    request = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42", "61"]}
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.COMPLETED
    return snapshot_root


def files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_what_the_dashboard_still_says_matches(stored, simulator):
    before, requests_before = files(stored), len(simulator.requests())

    checked = audits.audit_snapshots(sample_size=3, seed=1)

    assert len(checked) == 2  # one district per date, two dates
    assert {a.outcome for a in checked} == {AuditOutcome.MATCH}
    assert {a.logical_date for a in checked} == set(DAYS)
    assert all(a.detail == "full" and a.requests_made == 3 for a in checked)
    assert all(a.fetched_sha256 == a.recorded_sha256 for a in checked)
    # Fetched again (no cache), through the limiter; nothing written to the store.
    assert len(simulator.requests()) == requests_before + 6
    assert limits.rate_limiter().status().current_count >= 6
    assert files(stored) == before
    assert SnapshotAudit.objects.count() == 2


def store_differently(day: date, district: str) -> None:
    """Make what is stored (file and the hash its manifest records) say 1 member more than the
    dashboard: as if the dashboard revised its data since the file was written."""
    statistics = store.read_district(logical_date=day, district_id=district)
    membership = dataclasses.replace(
        statistics.membership, active_members=statistics.membership.active_members + 1
    )
    store.write_district(
        logical_date=day, statistics=dataclasses.replace(statistics, membership=membership)
    )
    manifest = store.read_manifest(logical_date=day)
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy=manifest["collectionStrategy"],
        scope=manifest["scope"],
        job_id=manifest["jobId"],
        district_errors={},
    )


def test_drift_is_recorded_with_the_values_that_differ_and_never_written(stored, simulator):
    for day in DAYS:
        for district in ("42", "61"):
            store_differently(day, district)
    before = files(stored)

    checked = audits.audit_snapshots(sample_size=2, seed=3)

    assert len(checked) == 2
    assert {a.outcome for a in checked} == {AuditOutcome.DRIFT}
    for audit in checked:
        assert audit.differences == ["membership.active_members"]
        assert "re-collect the date with reprocess=all" in audit.message
        assert audit.fetched_sha256 != audit.recorded_sha256
    assert files(stored) == before  # drift never overwrites


def test_a_failed_refetch_is_an_error_not_an_exception(stored, simulator):
    simulator.set_faults(no_data_dates=DAYS)  # the dashboard no longer serves them

    checked = audits.audit_snapshots(sample_size=1, seed=5)

    assert [a.outcome for a in checked] == [AuditOutcome.ERROR]
    assert "data_unavailable" in checked[0].message
    assert checked[0].fetched_sha256 == ""


def test_only_closed_months_are_sampled(stored, simulator):
    # March 2025 closed (the registry knows its closing date); a date of a month that has not
    # closed yet is never sampled: the dashboard may still change it.
    assert audits.month_closed(date(2025, 3, 10), today=date(2026, 12, 1))
    MonthEndClosing.objects.all().delete()
    assert not audits.month_closed(date(2026, 11, 10), today=date(2026, 12, 1))
    assert audits.sample(size=5, today=date(2025, 4, 1), rng=random.Random(0)) == []


def test_differences_name_every_path_that_differs():
    stored = {"a": 1, "b": {"c": [1, 2, {"d": "x"}]}, "e": [1], "same": True}
    fresh = {"a": 2, "b": {"c": [1, 3, {"d": "y"}]}, "e": [1, 2], "same": True, "new": 0}
    assert audits.differences(stored, fresh) == ["a", "b.c[1]", "b.c[2].d", "e", "new"]
    assert audits.differences(stored, stored) == []


def test_the_command_prints_json_and_exits_3_on_drift(stored, simulator):
    out = StringIO()
    call_command("snapshots_audit", "--sample", "1", "--seed", "2", "--json", stdout=out)
    assert [r["outcome"] for r in json.loads(out.getvalue())] == ["match"]

    for day in DAYS:
        for district in ("42", "61"):
            store_differently(day, district)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("snapshots_audit", "--sample", "1", stdout=out)
    assert exit_.value.code == 3
    assert "drift" in out.getvalue() and "1 value(s) differ" in out.getvalue()


def test_the_api_and_the_admin_show_drift(stored, simulator, staff_client, user_client):
    audits.audit_snapshots(sample_size=1, seed=1)
    store_differently(DAYS[0], "42")
    store_differently(DAYS[0], "61")
    store_differently(DAYS[1], "42")
    store_differently(DAYS[1], "61")
    audits.audit_snapshots(sample_size=1, seed=1)

    body = staff_client.get("/api/admin/audits").json()
    assert body["count"] == 2 and body["outcomes"] == {"match": 1, "drift": 1, "error": 0}
    assert [a["outcome"] for a in body["audits"]] == ["drift", "match"]  # newest first
    assert body["audits"][0]["differences"] == ["membership.active_members"]
    drift = staff_client.get("/api/admin/audits", {"outcome": "drift"}).json()
    assert drift["count"] == 1
    bad = staff_client.get("/api/admin/audits", {"outcome": "maybe", "limit": 0})
    assert bad.status_code == 400 and set(bad.json()) == {"outcome", "limit"}
    empty = staff_client.get("/api/admin/audits?outcome=&limit=")  # was read as absent
    assert empty.status_code == 400 and set(empty.json()) == {"outcome", "limit"}
    assert user_client.get("/api/admin/audits").status_code == 403

    staff_client.force_login(get_user_model().objects.create_superuser("root", "r@example.com"))
    page = staff_client.get(reverse("admin:backfill_snapshotaudit_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 check(s) found drift" in text
    assert text.count('<strong style="color:#e53935">drift</strong>') == 1
