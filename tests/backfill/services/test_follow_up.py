"""Follow-up publish jobs (backfill/services/follow_up.py, queued by outcome.finish_job) and the
daily publish on the beat schedule (daily_publish.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django_celery_beat.models import PeriodicTask

from backfill.models import JobStatus, JobType, UnitStatus
from backfill.services import daily_publish, outcome
from snapshots import store
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site

pytestmark = pytest.mark.django_db

DAYS = [date(2025, 3, 10), date(2025, 3, 11)]
CDN = "file:///srv/cdn"


@pytest.fixture
def stored(snapshot_root, tmp_path) -> list[date]:
    import_site(f"file://{simulated_site(tmp_path / 'history', DAYS, ['2', '21'])}")
    return store.stored_dates()


@pytest.fixture
def publishing(settings):
    settings.PUBLISH_DESTINATION = CDN
    settings.PUBLISH_AFTER_COLLECTION = True


def ended(job_type=JobType.DATA_COLLECTION, **request):
    """A running job whose units all succeeded, ended by the engine's own finish."""
    job = BackfillJobFactory(
        job_type=job_type,
        status=JobStatus.RUNNING,
        start_date=DAYS[0],
        end_date=DAYS[1],
        request={"startDate": "2025-03-10", "endDate": "2025-03-11", **request},
        total_units=2,
        succeeded_units=2,
    )
    for day in DAYS:
        BackfillUnitFactory(
            job=job, logical_date=day, district_id="21", status=UnitStatus.SUCCEEDED
        )
    outcome.finish_job(job)
    return job


def test_a_collection_without_follow_up_analytics_is_published(stored, publishing):
    job = ended(updateAnalytics=False)
    follow_up = job.follow_ups.get()
    assert follow_up.job_type == JobType.PUBLISH
    assert follow_up.request["destination"] == CDN
    assert (follow_up.start_date, follow_up.end_date) == (DAYS[0], DAYS[1])
    assert follow_up.total_units == 2


def test_a_collection_with_follow_up_analytics_is_published_after_them(
    stored, publishing, settings
):
    settings.BACKFILL_FOLLOW_UP_ANALYTICS = True
    job = ended()
    analytics = job.follow_ups.get()
    assert analytics.job_type == JobType.ANALYTICS_GENERATION

    analytics.units.update(status=UnitStatus.SUCCEEDED)
    analytics.status = JobStatus.RUNNING
    analytics.save()
    outcome.finish_job(analytics)

    publish = analytics.follow_ups.get()
    assert publish.job_type == JobType.PUBLISH and publish.follow_up_of_id == analytics.pk


def test_nothing_is_published_without_a_destination(stored, settings):
    settings.PUBLISH_DESTINATION = ""
    settings.PUBLISH_AFTER_COLLECTION = True
    assert not ended(updateAnalytics=False).follow_ups.exists()


def test_nothing_is_published_when_publish_after_collection_is_off(stored, publishing, settings):
    settings.PUBLISH_AFTER_COLLECTION = False
    assert not ended(updateAnalytics=False).follow_ups.exists()


def test_a_publish_job_queues_no_follow_up(stored, publishing):
    assert not ended(JobType.PUBLISH, destination=CDN).follow_ups.exists()


def test_the_daily_publish_queues_one_job_a_day(stored, publishing):
    first = daily_publish.publish_daily()
    assert first.job_type == JobType.PUBLISH and first.created_via == "beat"
    assert (first.start_date, first.end_date) == (DAYS[0], DAYS[1])
    assert daily_publish.publish_daily() == first


def test_the_daily_publish_does_nothing_without_a_destination(stored, settings):
    settings.PUBLISH_DESTINATION = ""
    assert daily_publish.publish_daily() is None


def test_the_daily_publish_is_on_the_beat_schedule(db):
    task = PeriodicTask.objects.get(task="backfill.tasks.publish_site")
    assert task.enabled and task.crontab.hour == "8"
