"""Polling is cheap (issue 21): ETag / If-None-Match on job status (legacy and unified) and on
the history, and a legacy status poll whose work does not grow with the job's units."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backfill.models import BackfillUnit, JobStatus, UnitStatus
from backfill.selectors import jobs as job_reads
from backfill.selectors import legacy as legacy_reads
from backfill.services import actions, broker, units
from tests.factories import BackfillJobFactory

pytestmark = pytest.mark.django_db
START = date(2025, 1, 1)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, snapshot_root):
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    return snapshot_root


def running_job(districts: int, days: int, *, running: int = 1):
    """A running job of districts x days units: the first date succeeded, `running` units in
    flight, one failed after retries, the rest pending."""
    job = BackfillJobFactory(
        status=JobStatus.RUNNING,
        start_date=START,
        end_date=START + timedelta(days=days - 1),
        total_units=districts * days,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        scope={"targetDistricts": [str(d) for d in range(1, districts + 1)]},
    )
    units = [
        BackfillUnit(job=job, logical_date=START + timedelta(days=day), district_id=str(d))
        for day in range(days)
        for d in range(1, districts + 1)
    ]
    BackfillUnit.objects.bulk_create(units)
    ordered = list(job.units.order_by("logical_date", "district_id").values_list("pk", flat=True))
    job.units.filter(pk__in=ordered[:districts]).update(status=UnitStatus.SUCCEEDED, attempts=1)
    job.units.filter(pk=ordered[districts]).update(
        status=UnitStatus.FAILED, attempts=3, error_type="fetch_failed", error_message="HTTP 500"
    )
    job.units.filter(pk__in=ordered[districts + 1 : districts + 1 + running]).update(
        status=UnitStatus.RUNNING, attempts=1
    )
    job.succeeded_units, job.failed_units = districts, 1
    job.save(update_fields=["succeeded_units", "failed_units"])
    return job


def status_urls(job) -> dict[str, str]:
    return {
        "unified": f"/api/admin/backfill/{job.pk}",
        "legacy": f"/api/districts/backfill/{job.pk}",
    }


def legacy_poll_queries(client, job) -> int:
    url = f"/api/districts/backfill/{job.pk}"
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_legacy_status_poll_queries_do_not_grow_with_units(staff_client):
    warm = running_job(districts=1, days=3)
    small = running_job(districts=2, days=5)
    large = running_job(districts=20, days=50)
    assert large.total_units == 1_000
    legacy_poll_queries(staff_client, warm)  # the per-process caches (user, limits)
    first = legacy_poll_queries(staff_client, large)
    assert first == legacy_poll_queries(staff_client, small)
    # Polling the unchanged job again reads its version only: no unit row for its district
    # progress, no body built again.
    with CaptureQueriesContext(connection) as queries:
        staff_client.get(f"/api/districts/backfill/{large.pk}")
    assert len(queries.captured_queries) < first - 1
    assert not any("logical_date ORDER BY" in q["sql"] for q in queries.captured_queries)


def test_legacy_district_progress_matches_a_count_of_the_units(staff_client):
    job = running_job(districts=3, days=4, running=2)
    job.units.filter(district_id="2", logical_date=START + timedelta(days=3)).update(
        status=UnitStatus.FAILED, attempts=2, error_message="HTTP 503"
    )
    job.units.filter(district_id="3", logical_date=START + timedelta(days=2)).update(
        status=UnitStatus.SKIPPED
    )
    version = job_reads.job_version(job_id=job.pk)
    assert legacy_reads.district_dates(version=version) == legacy_reads._counted_district_dates(job)
    progress = staff_client.get(f"/api/districts/backfill/{job.pk}").json()["progress"]
    two = progress["districtProgress"]["2"]
    assert two["failedDates"] == ["2025-01-04"] and two["lastError"] == "HTTP 503"


@pytest.mark.parametrize("route", ["unified", "legacy"])
def test_an_unchanged_job_answers_304_without_a_body(staff_client, route):
    job = running_job(districts=2, days=3)
    url = status_urls(job)[route]
    first = staff_client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    again = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert first["Cache-Control"] == again["Cache-Control"] == "private, no-cache"
    # A list of tags, and the strong form of the same tag, match too (weak comparison).
    listed = staff_client.get(url, HTTP_IF_NONE_MATCH=f'"other", {etag.removeprefix("W/")}')
    assert listed.status_code == 304
    assert staff_client.get(url, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200
    if route == "legacy":
        assert again["Deprecation"].startswith("@") and again["Sunset"].endswith("GMT")
        assert "successor-version" in again["Link"]


@pytest.mark.parametrize("route", ["unified", "legacy"])
def test_a_unit_ending_changes_the_etag(staff_client, route):
    job = running_job(districts=2, days=3)
    url = status_urls(job)[route]
    etag = staff_client.get(url)["ETag"]
    unit = job.units.get(status=UnitStatus.RUNNING)
    assert units.finish_unit(unit_id=unit.pk, status=UnitStatus.SUCCEEDED, token=unit.lease_token)
    changed = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert staff_client.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


@pytest.mark.parametrize("route", ["unified", "legacy"])
def test_a_status_change_changes_the_etag(staff_client, route):
    job = running_job(districts=2, days=3)
    url = status_urls(job)[route]
    etag = staff_client.get(url)["ETag"]
    actions.pause_job(job=job)
    changed = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_history_answers_304_until_a_job_changes(staff_client):
    job = running_job(districts=2, days=3)
    url = "/api/admin/backfill/jobs?limit=5"
    etag = staff_client.get(url)["ETag"]
    assert staff_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    unit = job.units.get(status=UnitStatus.RUNNING)
    units.finish_unit(unit_id=unit.pk, status=UnitStatus.SUCCEEDED, token=unit.lease_token)
    changed = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    # Another page is another answer.
    assert (
        staff_client.get(f"{url}&offset=1", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 200
    )


def test_a_claim_counts_its_attempt_at_the_next_poll(staff_client):
    job = running_job(districts=2, days=3)
    url = f"/api/districts/backfill/{job.pk}"
    unit = job.units.get(status=UnitStatus.RUNNING)
    before = staff_client.get(url)
    district = before.json()["progress"]["districtProgress"][unit.district_id]
    # A lost run: the unit is claimed again (same lease token, no status change, no heartbeat).
    BackfillUnit.objects.filter(pk=unit.pk).update(lease_token="t", lease_owner="")
    assert units.claim_unit(unit_id=unit.pk, token="t", owner="w1", pid=1)
    after = staff_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    retries = after.json()["progress"]["districtProgress"][unit.district_id]["retryCount"]
    assert retries == district["retryCount"] + 1


@pytest.mark.parametrize("route", ["unified", "legacy"])
def test_a_304_is_answered_from_the_job_version_without_building_the_body(
    staff_client, route, monkeypatch, django_assert_max_num_queries
):
    job = running_job(districts=5, days=10)
    url = status_urls(job)[route]
    etag = staff_client.get(url)["ETag"]

    def no_body(**kwargs):
        raise AssertionError("a 304 built the body")

    monkeypatch.setattr(job_reads, "job_detail", no_body)
    monkeypatch.setattr(legacy_reads, "district_dates", no_body)
    # The session, its user and permissions (4); the job with its related counts, its
    # per-district counts (which say whether a unit runs) and the active jobs' totals (3); the
    # limits' configuration when its per-process copy has expired (1).
    with django_assert_max_num_queries(8):
        again = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("route", ["unified", "legacy"])
def test_a_status_poll_reads_the_job_row_once(staff_client, route):
    job = running_job(districts=2, days=3)
    url = status_urls(job)[route]
    staff_client.get(url)  # the per-process caches (user, limits)
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(url).status_code == 200
    # A read of the job's row: from the job table, selected by the job's id.
    by_id = re.compile(r'FROM "?backfill_backfilljob"?(?:\s+\w+)?\s+WHERE \(?"?\w+"?\."?id"? = ')
    job_reads = [
        q["sql"]
        for q in queries.captured_queries
        if by_id.search(q["sql"]) and job.pk.hex in q["sql"].replace("-", "")
    ]
    assert len(job_reads) == 1, job_reads


def test_a_legacy_body_is_built_once_per_version_of_its_job(staff_client, monkeypatch):
    job = running_job(districts=2, days=3)
    url = f"/api/districts/backfill/{job.pk}"
    first = staff_client.get(url).json()
    built = []
    detail = job_reads.job_detail
    monkeypatch.setattr(job_reads, "job_detail", lambda **kw: built.append(1) or detail(**kw))
    again = staff_client.get(url).json()
    assert not built
    clock = ("performanceStatus",)
    assert {k: v for k, v in again.items() if k not in clock} == {
        k: v for k, v in first.items() if k not in clock
    }
    assert list(again) == list(first)  # the limits' state in its place
    unit = job.units.get(status=UnitStatus.RUNNING)
    assert units.finish_unit(unit_id=unit.pk, status=UnitStatus.SUCCEEDED, token=unit.lease_token)
    changed = staff_client.get(url).json()
    assert built == [1]
    assert changed["progress"]["completed"] == first["progress"]["completed"] + 1


def test_a_unit_ending_reads_again_only_its_districts_dates(staff_client):
    job = running_job(districts=5, days=4, running=2)
    url = f"/api/districts/backfill/{job.pk}"
    staff_client.get(url)
    unit = job.units.filter(status=UnitStatus.RUNNING).first()
    assert units.finish_unit(unit_id=unit.pk, status=UnitStatus.FAILED, token=unit.lease_token)
    with CaptureQueriesContext(connection) as queries:
        progress = staff_client.get(url).json()["progress"]["districtProgress"]
    reads = [q["sql"] for q in queries.captured_queries if "array_agg" in q["sql"]]
    assert len(reads) == 1 and "ANY(" in reads[0]
    counted = legacy_reads._counted_district_dates(job)
    assert [(d.district_id, list(d.failed_dates)) for d in counted] == [
        (district, body["failedDates"]) for district, body in progress.items()
    ]
    version = job_reads.job_version(job_id=job.pk)
    assert legacy_reads.district_dates(version=version) == counted


def test_the_no_worker_sentence_changes_the_unified_etag_only(staff_client):
    """The legacy body shows no reason for waiting: a sentence that changes every minute
    (no worker has reported for N min) keeps its ETag and its cached body."""
    job = running_job(districts=2, days=3)
    urls = status_urls(job)
    etags = {route: staff_client.get(url)["ETag"] for route, url in urls.items()}
    job.__class__.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=30)
    )
    unified = staff_client.get(urls["unified"], HTTP_IF_NONE_MATCH=etags["unified"])
    assert unified.status_code == 200 and "No worker" in unified.json()["whyNotRunning"]
    legacy = staff_client.get(urls["legacy"], HTTP_IF_NONE_MATCH=etags["legacy"])
    assert legacy.status_code == 304
