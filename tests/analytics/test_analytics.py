"""analytics/documents.py and analytics/services.py: the documents against the district files
they come from, the rankings' ties and points, byte-identical re-runs, missing and partial
snapshots, and the analytics-generation job's planning, preview and in-process execution."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError as RequestInvalid

from analytics import documents
from analytics import services as analytics
from analytics.models import AnalyticsOutput
from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, JobType, UnitStatus
from backfill.services import actions, broker, dispatch, execution, jobs, planning, units
from backfill.services.planning.request import BackfillRequest
from districts.dashboard.reports import ReportType
from districts.dashboard.statistics import ClubCounts, DistrictStatistics, Membership, Payments
from districts.dashboard.urls import month_end, program_year_of
from districts.ids import ALL_DISTRICTS, district_sort_key
from simulator.exports import SimulatedDashboard
from simulator.rendering import render_export
from snapshots import store
from snapshots.models import Snapshot

pytestmark = pytest.mark.django_db

FIRST_DAY = date(2024, 7, 1)


def statistics(
    district_id: str,
    day: date,
    *,
    active_clubs: int | None = 50,
    total_distinguished: int | None = 10,
    club_growth: float | None = 1.0,
    payment_growth: float | None = 2.0,
    members: int | None = 1000,
    paid: int | None = 48,
    payments: int | None = 900,
) -> DistrictStatistics:
    """Summary-level statistics of one district and date, as normalize_summary gives them."""
    return DistrictStatistics(
        district_id=district_id,
        logical_date=day,
        as_of_date=day,
        data_month=f"{day:%Y-%m}",
        program_year=program_year_of(day),
        is_closing_period=False,
        detail="summary",
        membership=Membership(active_members=members, base=900 if members else None),
        payments=Payments(total_ytd=payments, growth_percent=payment_growth),
        clubs=ClubCounts(
            active=active_clubs,
            paid=paid,
            growth_percent=club_growth,
            distinguished=total_distinguished,
            total_distinguished=total_distinguished,
        ),
    )


def store_date(day: date, rows: list[DistrictStatistics], *, errors: dict | None = None) -> None:
    for row in rows:
        store.write_district(logical_date=day, statistics=row)
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="system-wide",
        scope=[],
        job_id=None,
        district_errors=errors or {},
    )


def archive_summary(day: date) -> bytes:
    """Archive the simulator's all-districts summary of `day` (a normal day) as a collection
    would: the date-level data its rankings read."""
    export = SimulatedDashboard().export(
        report=ReportType.DISTRICT_SUMMARY,
        district_id=None,
        month_end=month_end(day),
        as_of=day,
        program_year=program_year_of(day),
    )
    data = render_export(export)
    store.archive_raw_csv(as_of=day, report="districtsummary", district_id=None, data=data)
    return data


def document_bytes(root: Path, name: str) -> bytes:
    return (root / name).read_bytes()


# --- pure ranking rules -------------------------------------------------------------------------


def test_competition_ranks_share_a_rank_and_skip_the_next():
    ranks = documents.competition_ranks({"1": 5.0, "2": 7.0, "3": 5.0, "4": 1.0, "5": None})
    assert ranks == {"1": 2, "2": 1, "3": 2, "4": 4, "5": None}


def test_borda_points_are_n_minus_rank_plus_one_and_zero_without_a_value():
    values = {"1": 5.0, "2": 7.0, "3": 5.0, "4": None}
    points = documents.category_points(documents.competition_ranks(values), values)
    assert points == {"1": 2, "2": 3, "3": 2, "4": 0}


def test_a_category_where_every_district_ties_gives_zero_points():
    values = {"1": 3.0, "2": 3.0, "3": None}
    ranks = documents.competition_ranks(values)
    assert ranks == {"1": 1, "2": 1, "3": None}
    assert documents.category_points(ranks, values) == {"1": 0, "2": 0, "3": 0}


def test_distinguished_percent_is_total_distinguished_over_active_clubs():
    assert documents.distinguished_percent(statistics("1", FIRST_DAY)) == 20.0
    s = statistics("1", FIRST_DAY, active_clubs=3, total_distinguished=1)
    assert documents.distinguished_percent(s) == 33.33
    assert documents.distinguished_percent(statistics("1", FIRST_DAY, active_clubs=0)) is None
    s = statistics("1", FIRST_DAY, total_distinguished=None)
    assert documents.distinguished_percent(s) is None


def test_metric_summary_takes_the_earliest_date_on_a_tie_and_skips_nulls():
    values = [5, 9, 9, 2, 2, None]
    summary = documents.metric_summary(
        [("2024-07-01", None)] + [(f"2024-07-0{i}", v) for i, v in enumerate(values, start=2)]
    )
    assert summary == {
        "first": 5,
        "last": 2,
        "change": -3,
        "best": {"date": "2024-07-03", "value": 9},
        "worst": {"date": "2024-07-05", "value": 2},
    }
    empty = documents.metric_summary([("2024-07-01", None)])
    assert set(empty.values()) == {None}


# --- hypothesis: generated snapshots against the stored files -----------------------------------

DISTRICT_IDS = ("1", "2", "9", "42", "128", "F")
PERCENTS = st.sampled_from([None, -5.0, 0.0, 2.5, 2.5, 10.0])
COUNTS = st.one_of(st.none(), st.integers(min_value=0, max_value=60))


@st.composite
def district_rows(draw, district_id: str, day: date) -> DistrictStatistics:
    return statistics(
        district_id,
        day,
        active_clubs=draw(COUNTS),
        total_distinguished=draw(COUNTS),
        club_growth=draw(PERCENTS),
        payment_growth=draw(PERCENTS),
        members=draw(COUNTS),
        paid=draw(COUNTS),
        payments=draw(COUNTS),
    )


@st.composite
def snapshot_sets(draw):
    """A few dates of one program year; each with some districts (maybe none), a snapshot
    status (completed, partial, or no manifest), and a date of the next program year."""
    districts = draw(st.lists(st.sampled_from(DISTRICT_IDS), min_size=1, max_size=5, unique=True))
    offsets = draw(st.lists(st.integers(0, 364), min_size=1, max_size=5, unique=True))
    dates = sorted(FIRST_DAY + timedelta(days=o) for o in offsets)
    snapshots = []
    for day in dates:
        present = draw(st.lists(st.sampled_from(districts), unique=True, max_size=len(districts)))
        rows = [draw(district_rows(d, day)) for d in sorted(present, key=district_sort_key)]
        kind = draw(st.sampled_from(["completed", "partial", "no-manifest"]))
        snapshots.append((day, rows, kind))
    return districts, snapshots


def write_snapshots(snapshots) -> None:
    for day, rows, kind in snapshots:
        for row in rows:
            store.write_district(logical_date=day, statistics=row)
        if kind == "no-manifest":
            (Path(settings.SNAPSHOT_ROOT) / day.isoformat()).mkdir(exist_ok=True)
            continue
        errors = {"999": {"errorType": "fetch_failed", "message": "x"}} if kind == "partial" else {}
        store.finalize_snapshot(
            logical_date=day,
            collection_strategy="system-wide",
            scope=[],
            job_id=None,
            district_errors=errors,
        )
    # A district file of the next program year must not leak into this year's series.
    next_year = date(2025, 7, 1)
    store.write_district(logical_date=next_year, statistics=statistics(DISTRICT_IDS[0], next_year))


def private_store():
    root = tempfile.mkdtemp(prefix="analytics-test-")
    storages = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root},
        },
    }
    return Path(root), override_settings(SNAPSHOT_ROOT=Path(root), STORAGES=storages)


def raw_file(root: Path, day: date, district_id: str) -> dict | None:
    path = root / day.isoformat() / f"district_{district_id}.json"
    return json.loads(path.read_text()) if path.exists() else None


def expected_percent(raw: dict) -> float | None:
    total, active = raw["clubs"]["total_distinguished"], raw["clubs"]["active"]
    return None if total is None or not active else round(total / active * 100, 2)


def expected_rank(value, values) -> int | None:
    return None if value is None else 1 + sum(1 for v in values if v is not None and v > value)


@hypothesis_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=snapshot_sets())
def test_generated_documents_agree_with_the_stored_district_files(data):
    districts, snapshots = data
    root, storage = private_store()
    with storage:
        Snapshot.objects.all().delete()
        AnalyticsOutput.objects.all().delete()
        write_snapshots(snapshots)
        stored_kind = {day: kind for day, _, kind in snapshots}
        year_dates = [day for day, _, _ in snapshots]
        not_completed = sorted(d for d, kind in stored_kind.items() if kind != "completed")

        for district_id in districts:
            files = {d: raw_file(root, d, district_id) for d in year_dates}
            with_data = [d for d in year_dates if files[d] is not None]
            if not with_data:
                with pytest.raises(analytics.NothingToRead):
                    analytics.generate_district_series(
                        district_id=district_id, program_year="2024-2025"
                    )
                continue
            generated = analytics.generate_district_series(
                district_id=district_id, program_year="2024-2025"
            )
            doc = generated.document
            assert doc == documents.read_district_series(
                district_id=district_id, program_year="2024-2025"
            )
            assert [p["date"] for p in doc["series"]] == [d.isoformat() for d in with_data]
            assert doc["missingDates"] == [d.isoformat() for d in year_dates if files[d] is None]
            assert doc["partialDates"] == [d.isoformat() for d in not_completed if d in with_data]
            for point, day in zip(doc["series"], with_data, strict=True):
                raw = files[day]
                assert point["membership"]["active"] == raw["membership"]["active_members"]
                assert point["paidClubs"] == raw["clubs"]["paid"]
                assert point["payments"] == {
                    "total": raw["payments"]["total_ytd"],
                    "growthPercent": raw["payments"]["growth_percent"],
                }
                assert point["distinguishedClubs"]["total"] == raw["clubs"]["total_distinguished"]
                assert point["distinguishedClubs"]["percent"] == expected_percent(raw)
                # Summary data: its Active Clubs are the clubs not suspended; it publishes no
                # club statuses.
                assert point["activeClubs"] == raw["clubs"]["active"]
                assert set(point["clubsByStatus"].values()) == {None}
            members = [(d, files[d]["membership"]["active_members"]) for d in with_data]
            known = [(d, v) for d, v in members if v is not None]
            metric = doc["summary"]["metrics"]["activeMembers"]
            if known:
                assert metric["first"] == known[0][1] and metric["last"] == known[-1][1]
                assert metric["best"]["value"] == max(v for _, v in known)
                assert metric["worst"]["value"] == min(v for _, v in known)
            else:
                assert metric["best"] is None
            row = generated.output
            assert row.snapshot_count == len(with_data) == doc["snapshotDates"]
            assert row.missing_dates == doc["missingDates"]
            assert row.partial_dates == doc["partialDates"]
            # A re-run over the same snapshots rewrites the same bytes.
            before = document_bytes(root, row.name)
            again = analytics.generate_district_series(
                district_id=district_id, program_year="2024-2025"
            )
            assert document_bytes(root, row.name) == before
            assert again.output.sha256 == row.sha256

        for day, rows, kind in snapshots:
            # Without an archived summary, only a completed system-wide snapshot over every
            # district holds the date's summary: the others get no rankings, never a subset.
            if not rows or kind != "completed":
                with pytest.raises(analytics.NothingToRead):
                    analytics.generate_rankings(logical_date=day)
                continue
            generated = analytics.generate_rankings(logical_date=day)
            doc = generated.document
            ranked = [r["districtId"] for r in doc["rankings"]]
            assert sorted(ranked) == sorted(r.district_id for r in rows)
            assert doc["districtCount"] == len(rows)
            assert (
                doc["snapshotStatus"]
                == {
                    "completed": "completed",
                    "partial": "partial_success",
                    "no-manifest": None,
                }[kind]
            )
            assert generated.output.partial_dates == ([] if kind == "completed" else [str(day)])
            raws = {d: raw_file(root, day, d) for d in ranked}
            columns = {
                "clubGrowthPercent": {d: r["clubs"]["growth_percent"] for d, r in raws.items()},
                "paymentGrowthPercent": {
                    d: r["payments"]["growth_percent"] for d, r in raws.items()
                },
                "distinguishedPercent": {d: expected_percent(r) for d, r in raws.items()},
            }
            totals = {}
            for entry in doc["rankings"]:
                d = entry["districtId"]
                total = 0
                for category, column in columns.items():
                    value = column[d]
                    known = [v for v in column.values() if v is not None]
                    assert entry["values"][category] == value
                    assert entry["ranks"][category] == expected_rank(value, column.values())
                    if value is None or len(set(known)) == 1:
                        points = 0
                    else:
                        points = len(known) - expected_rank(value, column.values()) + 1
                    assert entry["points"][category] == points
                    total += points
                assert entry["totalPoints"] == total
                totals[d] = total
            for entry in doc["rankings"]:
                assert entry["overallRank"] == expected_rank(entry["totalPoints"], totals.values())
            order = [
                (r["overallRank"], district_sort_key(r["districtId"])) for r in doc["rankings"]
            ]
            assert order == sorted(order)
            before = document_bytes(root, generated.output.name)
            analytics.generate_rankings(logical_date=day)
            assert document_bytes(root, generated.output.name) == before


# --- planning and preview -----------------------------------------------------------------------


def analytics_request(**fields) -> BackfillRequest:
    return backfill_request({"jobType": "analytics-generation", **fields})


def test_analytics_plan_has_a_unit_per_district_and_program_year_and_one_per_date(
    snapshot_root,
):
    days = [date(2025, 3, 10), date(2025, 3, 11), date(2025, 7, 1)]
    for day in days:
        store_date(day, [statistics("42", day), statistics("61", day)])
    plan = planning.plan(analytics_request())
    assert plan.collection_strategy == "analytics"
    assert (plan.start_date, plan.end_date) == (days[0], days[-1])
    units = [(u.logical_date, u.district_id, u.status) for u in plan.units()]
    assert units == [
        (days[0], ALL_DISTRICTS, "pending"),
        (days[0], "42", "pending"),
        (days[0], "61", "pending"),
        (days[1], ALL_DISTRICTS, "pending"),
        (days[2], ALL_DISTRICTS, "pending"),
        (days[2], "42", "pending"),
        (days[2], "61", "pending"),
    ]


def test_analytics_plan_of_a_district_not_stored_is_unavailable_with_the_reason(snapshot_root):
    day = date(2025, 3, 10)
    store_date(day, [statistics("42", day)])
    plan = planning.plan(analytics_request(targetDistricts=["42", "61"], startDate="2025-03-10"))
    by_district = {u.district_id: u for u in plan.units()}
    assert by_district["42"].status == UnitStatus.PENDING
    assert by_district["61"].status == UnitStatus.UNAVAILABLE
    assert "2024-2025 has district 61" in by_district["61"].reason


def test_analytics_preview_counts_the_reads_and_names_missing_and_partial_dates(snapshot_root):
    day1, day3 = date(2025, 3, 10), date(2025, 3, 12)
    store_date(day1, [statistics("42", day1), statistics("61", day1)])
    store_date(day3, [statistics("42", day3)], errors={"61": {"errorType": "fetch_failed"}})
    archive_summary(day3)  # the partial date's rankings read its summary
    preview = jobs.preview_job(request=analytics_request(startDate="2025-03-10", endDate=str(day3)))
    assert preview.reads.snapshot_dates == 2
    assert preview.reads.district_files == 3
    assert preview.reads.missing_dates == (date(2025, 3, 11),)
    assert preview.reads.partial_dates == (day3,)
    assert [d.plan for d in preview.dates] == ["read", "missing", "read"]
    assert "partial" in preview.dates[2].reason
    assert preview.requests == 0
    assert preview.total_units == 4  # two time series and two rankings


def test_analytics_without_a_stored_snapshot_in_the_range_names_the_dates(snapshot_root):
    store_date(date(2025, 3, 10), [statistics("42", date(2025, 3, 10))])
    with pytest.raises(ValidationError) as raised:
        planning.plan(analytics_request(startDate="2025-04-01", endDate="2025-04-30"))
    assert (
        "No stored snapshot between 2025-04-01 and 2025-04-30"
        in (raised.value.message_dict["startDate"][0])
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("collectionType", "per-district"),
        ("rateLimitDelayMs", 5000),
        ("reprocess", "all"),
        ("skipExisting", False),
    ],
)
def test_analytics_refuses_the_fields_that_steer_dashboard_requests(field, value):
    with pytest.raises(RequestInvalid) as raised:
        analytics_request(**{field: value})
    assert field in raised.value.detail


def test_analytics_dates_are_optional_but_data_collection_needs_a_start_date():
    request = analytics_request(enableCaching=False, updateAnalytics=False)
    assert request.start_date is None and request.end_date is None
    with pytest.raises(RequestInvalid) as raised:
        backfill_request({})
    assert "startDate" in raised.value.detail
    assert analytics_request(startDate="2025-03-10").end_date == date(2025, 3, 10)


# --- the job, in process --------------------------------------------------------------------------


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run the callbacks it registered for after its commit (`sent`
    records what they send)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def run_in_process(sent, committed) -> None:
    """Run every message the engine sends, in this process, until none is left."""
    committed(dispatch.start_queued_jobs)
    done = 0
    while done < len(sent):
        task, args = sent[done]
        done += 1
        if task == broker.RUN_UNIT_TASK:
            committed(execution.run_unit, unit_id=args[0], token=args[1])
        elif task == broker.START_JOBS_TASK:
            committed(dispatch.start_queued_jobs)


def test_analytics_job_writes_every_document_and_no_snapshot(
    snapshot_root, sent, fast_limits, committed
):
    days = [date(2025, 3, 10), date(2025, 3, 11)]
    for day in days:
        store_date(day, [statistics("42", day), statistics("61", day, club_growth=3.0)])
    manifest_before = store.read_manifest(logical_date=days[0])
    job = committed(jobs.create_job, request=analytics_request())
    run_in_process(sent, committed)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == 4 and job.job_type == JobType.ANALYTICS_GENERATION
    assert store.read_manifest(logical_date=days[0]) == manifest_before
    assert Snapshot.objects.filter(job_id=job.pk).count() == 0
    rows = AnalyticsOutput.objects.filter(job_id=job.pk)
    assert sorted(rows.values_list("name", flat=True)) == [
        "analytics/districts/42/2024-2025.json",
        "analytics/districts/61/2024-2025.json",
        "analytics/rankings/2025-03-10.json",
        "analytics/rankings/2025-03-11.json",
    ]
    rankings = documents.read_rankings(logical_date=days[0])
    assert [r["districtId"] for r in rankings["rankings"]] == ["61", "42"]
    assert job.units.aggregate(total=Sum("requests_made"))["total"] == 0


def test_analytics_unit_with_nothing_left_to_read_ends_unavailable(
    snapshot_root, sent, fast_limits, committed
):
    day = date(2025, 3, 10)
    store_date(day, [statistics("42", day)])
    job = committed(jobs.create_job, request=analytics_request())
    # The district file disappears between planning and running.
    (snapshot_root / day.isoformat() / "district_42.json").unlink()
    run_in_process(sent, committed)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.unavailable_units == 2
    unit = job.units.get(district_id="42")
    assert unit.status == UnitStatus.UNAVAILABLE and "has district 42" in unit.error_message


def test_analytics_unit_that_cannot_write_fails_and_retry_completes_it(
    snapshot_root, sent, fast_limits, settings, committed
):
    settings.BACKFILL_UNIT_MAX_ATTEMPTS = 1
    day = date(2025, 3, 10)
    store_date(day, [statistics("42", day)])
    blocker = snapshot_root / "analytics" / "rankings" / "2025-03-10.json"
    blocker.mkdir(parents=True)
    job = committed(jobs.create_job, request=analytics_request())
    run_in_process(sent, committed)
    job.refresh_from_db()
    assert job.status == JobStatus.PARTIAL_SUCCESS
    failed = job.units.get(status=UnitStatus.FAILED)
    assert failed.district_id == ALL_DISTRICTS and failed.retryable is True
    blocker.rmdir()
    sent.clear()
    assert committed(actions.retry_failed, job=job) == 1
    run_in_process(sent, committed)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert documents.read_rankings(logical_date=day)["districtCount"] == 1


def test_cancelled_analytics_job_runs_no_unit(snapshot_root, sent, fast_limits, committed):
    day = date(2025, 3, 10)
    store_date(day, [statistics("42", day)])
    job = committed(jobs.create_job, request=analytics_request())
    committed(actions.cancel_job, job=job)
    run_in_process(sent, committed)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.cancelled_units == 2
    assert not AnalyticsOutput.objects.exists()


# --- follow-up analytics of a data-collection job ---------------------------------------------


def collect_in_process(sent, committed, request: dict, rows_for) -> BackfillJob:
    """A data-collection job whose units 'collect' by writing `rows_for(day)` and succeed."""
    job = committed(jobs.create_job, request=backfill_request(request))
    committed(dispatch.start_queued_jobs)
    while True:
        messages = [args for task, args in sent if task == broker.RUN_UNIT_TASK]
        sent.clear()
        if not messages:
            break
        for unit_id, token in messages:
            unit = job.units.get(pk=unit_id)
            units.claim_unit(unit_id=unit_id, token=token, owner="test", pid=0)
            for row in rows_for(unit.logical_date):
                store.write_district(logical_date=unit.logical_date, statistics=row)
            committed(units.finish_unit, unit_id=unit_id, token=token, status=UnitStatus.SUCCEEDED)
    job.refresh_from_db()
    return job


def two_districts(day: date) -> list[DistrictStatistics]:
    return [statistics("42", day), statistics("61", day)]


def test_finished_collection_queues_a_follow_up_over_the_dates_it_stored(
    snapshot_root, sent, fast_limits, committed
):
    job = collect_in_process(
        sent, committed, {"startDate": "2025-03-10", "endDate": "2025-03-11"}, two_districts
    )
    assert job.status == JobStatus.COMPLETED
    follow_up = job.follow_ups.get()
    assert follow_up.job_type == JobType.ANALYTICS_GENERATION
    assert (follow_up.start_date, follow_up.end_date) == (date(2025, 3, 10), date(2025, 3, 11))
    assert follow_up.follow_up_of_id == job.pk and follow_up.status == JobStatus.PENDING
    assert follow_up.total_units == 4  # rankings of two dates, time series of 42 and 61
    assert (follow_up.priority, follow_up.run_kind) == (job.priority, job.run_kind)
    run_in_process(sent, committed)
    follow_up.refresh_from_db()
    assert follow_up.status == JobStatus.COMPLETED
    assert not follow_up.follow_ups.exists()  # an analytics job queues none
    assert documents.read_district_series(district_id="61", program_year="2024-2025")


def test_a_follow_up_is_as_urgent_as_its_collection(snapshot_root, sent, fast_limits, committed):
    job = collect_in_process(
        sent, committed, {"startDate": "2025-03-10", "priority": "urgent"}, two_districts
    )
    follow_up = job.follow_ups.get()
    assert follow_up.priority_label == "urgent" == job.priority_label


def test_follow_up_is_switched_off_by_the_request_or_the_setting(
    snapshot_root, sent, fast_limits, settings, committed
):
    job = collect_in_process(
        sent, committed, {"startDate": "2025-03-10", "updateAnalytics": False}, two_districts
    )
    assert job.status == JobStatus.COMPLETED and not job.follow_ups.exists()
    settings.BACKFILL_FOLLOW_UP_ANALYTICS = False
    job = collect_in_process(sent, committed, {"startDate": "2025-03-11"}, two_districts)
    assert job.status == JobStatus.COMPLETED and not job.follow_ups.exists()
    assert BackfillJob.objects.filter(job_type=JobType.ANALYTICS_GENERATION).count() == 0


def test_collection_that_stored_nothing_queues_no_follow_up(
    snapshot_root, sent, fast_limits, committed
):
    job = collect_in_process(sent, committed, {"startDate": "2025-03-10"}, lambda day: [])
    # Units "succeeded" without writing a district file: the snapshot has none to read.
    assert job.status == JobStatus.COMPLETED and not job.follow_ups.exists()


# --- API ----------------------------------------------------------------------------------------


def test_api_preview_of_an_analytics_job_says_what_it_reads(staff_client, snapshot_root):
    day1, day3 = date(2025, 3, 10), date(2025, 3, 12)
    store_date(day1, [statistics("42", day1)])
    store_date(day3, [statistics("42", day3)], errors={"61": {"errorType": "fetch_failed"}})
    archive_summary(day3)
    response = staff_client.post(
        "/api/admin/backfill/preview",
        {"jobType": "analytics-generation", "startDate": "2025-03-10", "endDate": "2025-03-12"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["collectionStrategy"]["type"] == "analytics"
    assert body["requests"] == 0 and body["totalUnits"] == 3
    assert body["snapshotsRead"] == {
        "snapshotDates": 2,
        "districtFiles": 2,
        "programYears": ["2024-2025"],
        "missingDates": ["2025-03-11"],
        "partialDates": ["2025-03-12"],
    }
    assert [d["plan"] for d in body["dates"]] == ["read", "missing", "read"]


def test_api_data_collection_preview_has_no_snapshots_read(staff_client, snapshot_root):
    response = staff_client.post(
        "/api/admin/backfill/preview", {"startDate": "2025-03-10"}, format="json"
    )
    assert response.status_code == 200 and response.json()["snapshotsRead"] is None


def test_api_creates_an_analytics_job_over_every_stored_snapshot(staff_client, snapshot_root):
    day = date(2025, 3, 10)
    store_date(day, [statistics("42", day), statistics("61", day)])
    response = staff_client.post(
        "/api/admin/backfill", {"jobType": "analytics-generation"}, format="json"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["jobType"] == "analytics-generation"
    assert body["collectionStrategy"]["type"] == "analytics"
    assert (body["startDate"], body["endDate"]) == ("2025-03-10", "2025-03-10")
    assert body["request"]["startDate"] is None
    assert body["progress"]["total"] == 3
    assert body["followUpOf"] is None and body["followUps"] == []


def test_api_refuses_an_analytics_job_with_nothing_stored_naming_the_dates(
    staff_client, snapshot_root
):
    response = staff_client.post(
        "/api/admin/backfill",
        {"jobType": "analytics-generation", "collectionType": "per-district"},
        format="json",
    )
    assert response.status_code == 400
    assert "collectionType" in response.json()
    response = staff_client.post(
        "/api/admin/backfill", {"jobType": "analytics-generation"}, format="json"
    )
    assert response.status_code == 400
    assert "No stored snapshot in the snapshot store" in response.json()["startDate"][0]


def test_the_engines_documents_are_what_the_api_and_the_admin_serve(
    snapshot_root, sent, fast_limits, committed, staff_client
):
    job = collect_in_process(
        sent, committed, {"startDate": "2025-03-10", "endDate": "2025-03-11"}, two_districts
    )
    follow_up = job.follow_ups.get()
    run_in_process(sent, committed)

    series = staff_client.get("/api/admin/analytics/districts/61").json()
    assert series["districtId"] == "61" and series["programYear"] == "2024-2025"
    assert series["jobId"] == str(follow_up.pk)
    assert [point["date"] for point in series["series"]] == ["2025-03-10", "2025-03-11"]
    assert series == {
        **documents.read_district_series(district_id="61", program_year="2024-2025"),
        **{k: series[k] for k in ("availableProgramYears", "generatedAt", "jobId")},
    }
    rankings = staff_client.get("/api/admin/analytics/rankings", {"date": "2025-03-11"}).json()
    assert sorted(r["districtId"] for r in rankings["rankings"]) == ["42", "61"]
    assert rankings["previousDate"] == "2025-03-10"

    staff_client.force_login(get_user_model().objects.create_superuser("root", "r@example.com"))
    page = staff_client.get(reverse("admin:analytics_district", args=["61"]))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    job_page = staff_client.get(reverse("admin:backfill_backfilljob_change", args=[follow_up.pk]))
    text = job_page.content.decode()
    assert "Analytics written (4)" in text
    assert reverse("admin:analytics_district", args=["61"]) in text
