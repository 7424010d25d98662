"""alerts/triggers.py: a job ending badly asks a worker for an evaluation at once (one message
while one is queued), and that evaluation alerts once per job, as beat's does."""

import pytest
from django.core import mail

from alerts import tasks, triggers
from alerts.evaluation import evaluate
from alerts.models import AlertState, RuleKind
from backfill.models import JobStatus, JobType
from backfill.services import broker
from backfill.services.outcome import finish_job
from tests.factories import BackfillJobFactory
from tests.fixtures.alerts import only_rule


@pytest.fixture
def end_job(django_capture_on_commit_callbacks):
    """End a running job with `failed` failed units of `total` through the engine's own
    `finish_job`, running what it does after commit."""

    def end(*, failed: int, total: int = 2, job_type: str = JobType.DATA_COLLECTION):
        job = BackfillJobFactory(
            status=JobStatus.RUNNING,
            job_type=job_type,
            total_units=total,
            failed_units=failed,
            succeeded_units=total - failed,
        )
        with django_capture_on_commit_callbacks(execute=True):
            finish_job(job)
        job.refresh_from_db()
        return job

    return end


def evaluations(sent) -> int:
    return sum(1 for task, _ in sent if task == triggers.EVALUATE_TASK)


def test_a_job_ending_badly_asks_for_one_evaluation_while_one_is_queued(
    alert_channels, sent, end_job
):
    assert end_job(failed=0).status == JobStatus.COMPLETED
    assert evaluations(sent) == 0
    assert end_job(failed=2).status == JobStatus.FAILED
    assert end_job(failed=1).status == JobStatus.PARTIAL_SUCCESS
    assert evaluations(sent) == 1  # the second job's end rides on the queued evaluation

    tasks.evaluate_events()  # the worker runs it: the request is taken
    end_job(failed=1)
    assert evaluations(sent) == 2


def test_the_prompt_evaluation_alerts_once_per_job_and_beat_sends_nothing_more(
    alert_channels, sent, end_job
):
    only_rule(RuleKind.JOB_FAILED)
    first, second = end_job(failed=2), end_job(failed=1)

    assert tasks.evaluate_events() == 4  # an e-mail and a webhook for each job
    assert sorted(message.subject for message in mail.outbox) == sorted(
        f"[Backfill] ALERT: Job {job.pk} ended {job.status}" for job in (first, second)
    )
    assert tasks.evaluate_events() == 0
    assert evaluate() == []  # beat's next round
    assert len(mail.outbox) == 2 and len(alert_channels.received) == 2
    assert all(received.signature_ok for received in alert_channels.received)
    assert AlertState.objects.count() == 2


def test_a_failed_publish_is_alerted_by_the_prompt_evaluation(alert_channels, sent, end_job):
    only_rule(RuleKind.PUBLISH_FAILED)
    job = end_job(failed=1, total=1, job_type=JobType.PUBLISH)
    assert evaluations(sent) == 1
    tasks.evaluate_events()
    assert [message.subject for message in mail.outbox] == [
        f"[Backfill] ALERT: Publish {job.pk} ended failed"
    ]


def test_without_redis_no_message_is_sent_and_the_engine_goes_on(
    alert_channels, sent, end_job, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert end_job(failed=1).status == JobStatus.PARTIAL_SUCCESS
    assert sent == [(broker.START_JOBS_TASK, ())]  # the next job still starts


def test_a_message_the_broker_refused_is_sent_again_at_the_next_bad_end(
    alert_channels, sent, end_job, monkeypatch
):
    def refuse(task, *args, countdown=None):
        if task == triggers.EVALUATE_TASK:
            raise OSError("broker unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(broker, "send", refuse)
        assert end_job(failed=1).status == JobStatus.PARTIAL_SUCCESS
    end_job(failed=1)
    assert evaluations(sent) == 1
