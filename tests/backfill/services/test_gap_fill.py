"""The default beat schedules (backfill/migrations/0002_default_schedules.py) and what beat's
tasks do: the daily gap fill creates yesterday's job as beat, over the configured scope, once
however often (and by however many beats) it is fired."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backfill import tasks
from backfill.models import BackfillJob, CreatedVia, JobStatus, RunKind
from backfill.services import broker, planning
from districts import services as district_services


def test_the_migrations_create_the_default_schedules(db):
    schedules = {
        task.task: (
            (task.crontab.minute, task.crontab.hour)
            if task.crontab
            else (task.interval.every, task.interval.period),
            task.enabled,
        )
        for task in PeriodicTask.objects.filter(task__startswith="backfill.tasks.")
    }
    assert schedules == {
        "backfill.tasks.fill_yesterday": (("30", "6"), True),
        "backfill.tasks.recover_jobs": (("*/5", "*"), True),
        "backfill.tasks.cleanup_jobs": (("15", "3"), True),
        "backfill.tasks.reclaim_lost_units": ((10, "seconds"), True),
        # Off until an operator enables it (it sends requests to the dashboard).
        "backfill.tasks.audit_snapshots": (("45", "*"), False),
        # A no-op until PUBLISH_DESTINATION is set.
        "backfill.tasks.publish_site": (("30", "8"), True),
    }


def test_beats_gap_fill_creates_yesterdays_job_for_the_configured_scope(
    transactional_db, backfill_env, fast_limits, sent
):
    district_services.set_configured_districts(district_ids=["42", "61"])
    job_id = tasks.fill_yesterday()
    yesterday = timezone.localdate() - timedelta(days=1)
    job = BackfillJob.objects.get(pk=job_id)
    assert (job.start_date, job.end_date) == (yesterday, yesterday)
    assert job.created_via == CreatedVia.BEAT and job.status == JobStatus.PENDING
    assert job.scope["targetDistricts"] == [] and job.scope["configuredDistricts"] == ["42", "61"]
    assert job.collection_strategy == "system-wide"
    assert broker.START_JOBS_TASK in [task for task, _ in sent]


def daily_refresh_jobs_per_date() -> Counter:
    """How many daily-refresh jobs each date has: yesterday's, and the month ends whose closing
    the gap fill found on the simulator."""
    return Counter(
        BackfillJob.objects.filter(run_kind=RunKind.DAILY_REFRESH).values_list(
            "start_date", flat=True
        )
    )


def test_beat_firing_twice_queues_one_daily_refresh_job(
    transactional_db, backfill_env, fast_limits, sent
):
    first = tasks.fill_yesterday()

    assert tasks.fill_yesterday() == first
    per_date = daily_refresh_jobs_per_date()
    assert per_date[timezone.localdate() - timedelta(days=1)] == 1
    assert set(per_date.values()) == {1}


def test_two_beats_firing_at_once_queue_one_daily_refresh_job(
    transactional_db, backfill_env, fast_limits, sent, monkeypatch
):
    """Both calls are past the look-up for an existing job before either creates yesterday's
    (they meet in its planning): the job's unique schedule key lets one create it, and the
    other finds it."""
    yesterday = timezone.localdate() - timedelta(days=1)
    barrier = threading.Barrier(2, timeout=30)
    plan = planning.plan

    def plan_together(request):
        if request.start_date == yesterday:
            barrier.wait()
        return plan(request)

    monkeypatch.setattr(planning, "plan", plan_together)
    returned: list[str | None] = []

    def fire() -> None:
        try:
            returned.append(tasks.fill_yesterday())
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    job = BackfillJob.objects.get(run_kind=RunKind.DAILY_REFRESH, start_date=yesterday)
    assert returned == [str(job.pk), str(job.pk)]
    assert set(daily_refresh_jobs_per_date().values()) == {1}
