"""The default beat schedules (backfill/migrations/0002_default_schedules.py) and what beat's
tasks do: the daily gap fill creates yesterday's job as beat, over the configured scope."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backfill import tasks
from backfill.models import BackfillJob, CreatedVia, JobStatus
from backfill.services import jobs
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
    assert jobs.START_JOBS_TASK in [task for task, _ in sent]
