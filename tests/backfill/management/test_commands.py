"""The backfill management commands: backfill, backfill_jobs, backfill_cancel, backfill_retry,
backfill_recover and backfill_cleanup."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from backfill.models import BackfillJob, BackfillUnit, CreatedVia, JobStatus, UnitStatus
from backfill.services import broker, dispatch, recovery, units
from districts import services as district_services
from districts.models import District
from tests.factories import BackfillJobFactory, BackfillUnitFactory


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, snapshot_root) -> list[tuple[str, tuple]]:
    """Record what would go to Celery; the snapshot store gets a private root."""
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        broker, "send", lambda task, *args, countdown=None: calls.append((task, args))
    )
    monkeypatch.setattr(recovery, "alive_workers", set)  # no worker to ping
    return calls


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def stale_running_job() -> BackfillJob:
    job = BackfillJobFactory(
        status=JobStatus.RUNNING,
        total_units=2,
        started_at=timezone.now() - timedelta(hours=1),
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    # Dispatched, its lease still running, but never claimed: its message may be lost.
    BackfillUnitFactory(
        job=job,
        district_id="42",
        status=UnitStatus.RUNNING,
        lease_token="t",
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )
    BackfillUnitFactory(job=job, district_id="61", status=UnitStatus.PENDING)
    return job


def partial_job() -> BackfillJob:
    job = BackfillJobFactory(
        status=JobStatus.PARTIAL_SUCCESS,
        total_units=2,
        succeeded_units=1,
        failed_units=1,
        finished_at=timezone.now(),
    )
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.SUCCEEDED)
    BackfillUnitFactory(job=job, district_id="61", status=UnitStatus.FAILED)
    return job


# backfill --dry-run


def test_dry_run_prints_the_preview_and_creates_no_job(db):
    out = run(
        "backfill",
        "--start",
        "2025-03-10",
        "--end",
        "2025-03-11",
        "--districts",
        "42",
        "61",
        "--dry-run",
    )
    assert "Collection strategy  per-district: 2 targeted districts" in out
    assert "Units                4 (4 pending)" in out
    assert "Requests             14" in out  # 3 per district and date, 1 summary per date
    assert "{'" not in out and "[]" not in out  # no Python reprs
    assert not BackfillJob.objects.exists()


def test_dry_run_lists_every_date_with_its_reason(db):
    out = run("backfill", "--start", "2025-03-30", "--end", "2025-04-02", "--dry-run")
    lines = [line.split() for line in out.splitlines() if line.strip().startswith("2025-")]
    assert [line[:2] for line in lines] == [
        ["2025-03-30", "fetch"],
        ["2025-03-31", "fetch"],
        ["2025-04-01", "unavailable"],
        ["2025-04-02", "unavailable"],
    ]
    assert "closing period of 2025-03" in out


def test_dry_run_estimates_the_duration_from_the_limiters_rule(db):
    out = run("backfill", "--start", "2025-03-10", "--districts", "42", "61", "--dry-run")
    # Seven requests (six and the date's summary) at least 2 s apart: the last one leaves 12 s
    # after the first (was 60 s).
    assert "Estimated duration   12 s under the current rate limit" in out


def test_unknown_districts_are_a_command_error_and_create_no_job(db):
    District.objects.create(id="42")
    with pytest.raises(CommandError, match=r"Unknown district\(s\) 999, 0"):
        run("backfill", "--start", "2025-03-10", "--districts", "999", "0")
    assert not BackfillJob.objects.exists()


def test_iso_week_dates_are_a_command_error(db):
    with pytest.raises(CommandError, match=r"startDate: Invalid date '2025-W11-1'.*YYYY-MM-DD"):
        run("backfill", "--start", "2025-W11-1", "--dry-run")


def test_dry_run_as_json_is_machine_readable(db):
    out = run("backfill", "--start", "2025-03-10", "--dry-run", "--json")
    data = json.loads(out)
    assert data["collectionStrategy"] == "system-wide"
    assert (data["totalUnits"], data["units"], data["requests"]) == (1, {"pending": 1}, 1)
    assert data["dates"] == [
        {
            "date": "2025-03-10",
            "plan": "fetch",
            "reason": "will fetch",
            "units": 1,
            "pendingUnits": 1,
        }
    ]
    assert data["rationale"] and data["warnings"] == []
    assert "estimatedDurationSeconds" in data


def test_dry_run_lists_out_of_scope_targets(db):
    district_services.set_configured_districts(district_ids=["42"])
    data = json.loads(
        run("backfill", "--start", "2025-03-10", "--districts", "42", "99", "--dry-run", "--json")
    )
    assert data["scope"]["excludedDistricts"] == ["99"]


# backfill: validation errors


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--start", "2025-13-01"], "startDate"),
        (["--start", "2025-03-10", "--end", "2025-03-01"], "endDate"),
        (["--start", "2001-01-01"], "endDate"),
        (["--start", "2025-03-10", "--districts", "4242"], "targetDistricts"),
        (["--start", "2025-03-10", "--concurrency", "0"], "concurrency"),
        (["--start", "2025-03-10", "--rate-limit-delay-ms", "-5"], "rateLimitDelayMs"),
    ],
)
def test_invalid_options_become_a_command_error_naming_the_field(db, args, field):
    for dry_run in ([], ["--dry-run"]):
        with pytest.raises(CommandError, match=f"^{field}: "):
            run("backfill", *args, *dry_run)
    assert not BackfillJob.objects.exists()


def test_targets_all_out_of_scope_are_a_command_error(db):
    district_services.set_configured_districts(district_ids=["42"])
    with pytest.raises(CommandError, match="No valid districts to process"):
        run("backfill", "--start", "2025-03-10", "--districts", "99")


# backfill: queueing a job


def test_backfill_queues_a_job_and_says_so(db):
    out = run("backfill", "--start", "2025-03-10", "--districts", "42", "61")
    job = BackfillJob.objects.get()
    assert out.startswith(f"Job {job.pk} queued: 2 units, strategy per-district")
    assert job.status == JobStatus.PENDING
    assert job.created_via == CreatedVia.CLI


def test_backfill_passes_every_option_into_the_request(db):
    run(
        "backfill",
        "--start",
        "2025-03-10",
        "--end",
        "2025-03-12",
        "--districts",
        "02",
        "f",
        "--collection-type",
        "system-wide",
        "--concurrency",
        "5",
        "--rate-limit-delay-ms",
        "500",
        "--no-skip-existing",
        "--no-retry-failures",
        "--no-cache",
        "--no-update-analytics",
    )
    job = BackfillJob.objects.get()
    assert job.request == {
        "jobType": "data-collection",
        "startDate": "2025-03-10",
        "endDate": "2025-03-12",
        "targetDistricts": ["2", "F"],
        "collectionType": "system-wide",
        "concurrency": 5,
        "retryFailures": False,
        "skipExisting": False,
        "reprocess": "all",
        "rateLimitDelayMs": 500,
        "enableCaching": False,
        "source": "dashboard",
        "updateAnalytics": False,
        "collectSummary": True,
        "priority": "normal",
    }
    assert job.collection_strategy == "targeted"


def test_no_collect_summary_reaches_the_request_and_is_refused_where_it_makes_no_sense(db):
    args = ("backfill", "--start", "2025-03-10", "--districts", "42", "61")
    out = run(*args, "--no-collect-summary", "--dry-run")
    assert "Requests             6" in out  # three per district, no summary
    run(*args, "--no-collect-summary")
    assert BackfillJob.objects.get().request["collectSummary"] is False
    with pytest.raises(CommandError, match=r"collectSummary: Only for a per-district collection"):
        run(*args, "--collection-type", "system-wide", "--no-collect-summary")


def test_backfill_json_prints_the_queued_job(db):
    data = json.loads(run("backfill", "--start", "2025-03-10", "--json"))
    job = BackfillJob.objects.get()
    assert data["jobId"] == str(job.pk)
    assert data["status"] == JobStatus.PENDING
    assert data["progress"]["total"] == 1


# backfill --wait: an inline broker runs start and unit messages at once


@pytest.fixture
def inline_broker(monkeypatch) -> set[str]:
    """Start messages start jobs; unit messages end their unit at once, failed when its
    district is in the returned set, else succeeded."""
    failing: set[str] = set()

    def send(task, *args, countdown=None):
        if task == broker.START_JOBS_TASK:
            dispatch.start_queued_jobs()
        elif task == broker.RUN_UNIT_TASK:
            unit = BackfillUnit.objects.get(pk=args[0])
            failed = unit.district_id in failing
            units.finish_unit(
                unit_id=unit.pk,
                token=args[1],
                status=UnitStatus.FAILED if failed else UnitStatus.SUCCEEDED,
                error_type="fetch_failed" if failed else "",
            )

    monkeypatch.setattr(broker, "send", send)
    return failing


@pytest.mark.django_db(transaction=True)
def test_wait_follows_the_job_and_prints_a_summary(inline_broker):
    # February 2026 closes on 2026-03-05: nothing to request, the job completes at once.
    out = run("backfill", "--start", "2026-03-02", "--end", "2026-03-03", "--wait")
    job = BackfillJob.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert f"Job {job.pk} completed" in out
    assert "2 unavailable" in out


@pytest.mark.django_db(transaction=True)
def test_wait_exits_with_2_when_the_job_is_partial(inline_broker):
    inline_broker.add("61")
    with pytest.raises(SystemExit) as exited:
        run("backfill", "--start", "2025-03-10", "--districts", "42", "61", "--wait")
    assert exited.value.code == 2
    assert BackfillJob.objects.get().status == JobStatus.PARTIAL_SUCCESS


@pytest.mark.django_db(transaction=True)
def test_wait_exits_with_1_when_the_job_fails(inline_broker):
    inline_broker.add("42")
    with pytest.raises(SystemExit) as exited:
        run("backfill", "--start", "2025-03-10", "--districts", "42", "--wait", "--json")
    assert exited.value.code == 1
    assert BackfillJob.objects.get().status == JobStatus.FAILED


# backfill_jobs


def test_jobs_lists_each_job_with_its_progress(db):
    job = partial_job()
    out = run("backfill_jobs")
    assert str(job.pk) in out
    assert "partial_success" in out
    assert "(1 ok, 1 failed of 2)" in out


def test_jobs_as_json_filtered_by_status(db):
    wanted = partial_job()
    BackfillJobFactory(status=JobStatus.COMPLETED)
    rows = json.loads(run("backfill_jobs", "--status", "partial_success", "--json"))
    assert [r["jobId"] for r in rows] == [str(wanted.pk)]
    assert rows[0]["progress"]["percent"] == 100.0


def test_jobs_says_so_when_there_are_none(db):
    assert run("backfill_jobs").strip() == "No jobs."


# backfill_cancel


def test_cancel_cancels_a_queued_job(db):
    job = BackfillJobFactory(total_units=1)
    BackfillUnitFactory(job=job)
    assert run("backfill_cancel", str(job.pk)).strip() == f"Job {job.pk}: cancelled"
    job.refresh_from_db()
    assert (job.status, job.cancelled_units) == (JobStatus.CANCELLED, 1)


def test_cancel_of_a_running_job_reports_cancelling(db):
    job = stale_running_job()
    assert run("backfill_cancel", str(job.pk)).strip() == f"Job {job.pk}: cancelling"


def test_cancel_of_a_finished_job_is_a_command_error(db):
    job = partial_job()
    with pytest.raises(CommandError, match="is already partial_success"):
        run("backfill_cancel", str(job.pk))


@pytest.mark.parametrize("command", ["backfill_cancel", "backfill_retry"])
@pytest.mark.parametrize(
    "job_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["unknown-uuid", "not-a-uuid"]
)
def test_unknown_job_id_is_a_command_error(db, command, job_id):
    with pytest.raises(CommandError, match=f"No backfill job with id '{job_id}'"):
        run(command, job_id)


# backfill_retry


def test_retry_queues_the_failed_units_again(db):
    job = partial_job()
    out = run("backfill_retry", str(job.pk))
    assert out.strip() == f"Job {job.pk}: 1 failed units queued again."
    assert job.units.get(district_id="61").status == UnitStatus.PENDING
    assert job.units.get(district_id="42").status == UnitStatus.SUCCEEDED


def test_retry_of_a_running_job_is_a_command_error(db):
    job = stale_running_job()
    with pytest.raises(CommandError, match="is running; retry its failures once it has ended"):
        run("backfill_retry", str(job.pk))


# backfill_pause, backfill_resume


def test_pause_then_resume_a_running_job(db, no_broker, django_capture_on_commit_callbacks):
    job = stale_running_job()
    assert run("backfill_pause", str(job.pk)).strip() == f"Job {job.pk}: paused"
    # The unit in flight keeps running; the pending one waits.
    assert job.units.get(district_id="42").status == UnitStatus.RUNNING
    assert job.units.get(district_id="61").status == UnitStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        assert run("backfill_resume", str(job.pk)).strip() == f"Job {job.pk}: pending"
    assert no_broker[-1] == (broker.START_JOBS_TASK, ())  # queued again in its place


def test_pause_of_a_finished_job_and_resume_of_a_running_one_are_command_errors(db):
    with pytest.raises(CommandError, match="only a queued or running job can be paused"):
        run("backfill_pause", str(partial_job().pk))
    with pytest.raises(CommandError, match="is running; only a paused job can be resumed"):
        run("backfill_resume", str(stale_running_job().pk))


@pytest.mark.parametrize("command", ["backfill_pause", "backfill_resume"])
def test_pause_and_resume_of_an_unknown_job_are_command_errors(db, command):
    with pytest.raises(CommandError, match="No backfill job with id 'nope'"):
        run(command, "nope")


# backfill --reprocess


def test_reprocess_option_reaches_the_request(db):
    run("backfill", "--start", "2025-03-10", "--reprocess", "failed", "--no-skip-existing")
    job = BackfillJob.objects.get()
    assert job.request["reprocess"] == "failed"  # wins over --no-skip-existing
    assert job.skip_existing is True


# backfill_recover


def test_recover_resumes_stale_jobs_and_lists_them(db):
    job = stale_running_job()
    out = run("backfill_recover")
    assert out.strip() == f"Recovered 1 jobs: {job.pk}"
    job.refresh_from_db()
    assert job.recovery_count == 1


def test_recover_with_nothing_stale_says_so(db):
    assert run("backfill_recover").strip() == "Recovered 0 jobs: -"


def test_recover_honours_stale_after(db):
    job = stale_running_job()
    BackfillJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    assert run("backfill_recover", "--stale-after", "300").strip() == "Recovered 0 jobs: -"
    assert run("backfill_recover", "--stale-after", "60").strip() == f"Recovered 1 jobs: {job.pk}"


def test_recover_with_stale_after_zero_recovers_every_active_job(db):
    job = stale_running_job()
    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    assert run("backfill_recover", "--stale-after", "0").strip() == f"Recovered 1 jobs: {job.pk}"


# backfill_cleanup


def old_finished_job(days: int) -> BackfillJob:
    job = BackfillJobFactory(
        status=JobStatus.COMPLETED, finished_at=timezone.now() - timedelta(days=days)
    )
    BackfillUnitFactory.create_batch(2, job=job, status=UnitStatus.SUCCEEDED)
    return job


def test_cleanup_deletes_old_finished_jobs(db):
    old_finished_job(40)
    kept = old_finished_job(10)
    out = run("backfill_cleanup", "--days", "30")
    assert out.strip() == "Deleted 1 jobs (2 units) and 0 task results."
    assert list(BackfillJob.objects.all()) == [kept]
    assert BackfillUnit.objects.count() == 2


def test_cleanup_defaults_to_the_retention_setting(db, settings):
    settings.BACKFILL_JOB_RETENTION_DAYS = 5
    old_finished_job(6)
    assert run("backfill_cleanup").startswith("Deleted 1 jobs")


def test_cleanup_with_zero_days_deletes_every_finished_job(db):
    old_finished_job(1)
    assert run("backfill_cleanup", "--days", "0").startswith("Deleted 1 jobs")


def test_dry_run_counts_month_ends_that_wait_for_their_closing_period(db, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 11, 20))

    out = json.loads(run("backfill", "--start", "2026-10-31", "--dry-run", "--json"))

    assert (out["units"], out["requests"]) == ({"waiting": 1}, 0)
    assert out["dates"][0]["plan"] == "waiting"


# numeric options (issue 9 finding 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill_recover", "--stale-after", "-100"], "--stale-after: must be at least 0"),
        (["backfill_recover", "--stale-after", "soon"], "--stale-after: 'soon' is not a whole"),
        (["backfill_cleanup", "--days", "-1"], "--days: must be at least 0, got -1"),
        (["backfill_jobs", "--limit", "0"], "--limit: must be at least 1, got 0"),
        (["backfill_jobs", "--limit", "-5"], "--limit: must be at least 1"),
        (["demo", "--port", "70000"], "--port: must be at most 65535"),
    ],
)
def test_out_of_range_numeric_options_are_refused_with_a_clear_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_recover_with_a_negative_stale_after_touches_no_healthy_job(db, no_broker):
    job = stale_running_job()
    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    with pytest.raises(CommandError):
        run("backfill_recover", "--stale-after", "-100")
    job.refresh_from_db()
    assert job.recovery_count == 0
    assert [task for task, _ in no_broker if task == broker.RUN_UNIT_TASK] == []


def test_recover_never_resends_a_unit_a_live_worker_holds(db, no_broker, monkeypatch):
    job = stale_running_job()
    BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).update(
        lease_owner="celery@alive", lease_pid=1
    )
    monkeypatch.setattr(recovery, "alive_workers", lambda: {"celery@alive"})
    assert run("backfill_recover", "--stale-after", "0").strip() == "Recovered 0 jobs: -"
    assert [task for task, _ in no_broker if task == broker.RUN_UNIT_TASK] == []
