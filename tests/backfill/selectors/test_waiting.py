"""why_not_running reads the workers' heartbeats: "no worker for 3 min" is why a job waits."""

from backfill.models import JobStatus
from backfill.selectors import waiting
from backfill_project import heartbeat
from tests.factories import BackfillJobFactory


def test_a_running_job_says_no_worker_answered_since_the_last_heartbeat(db, private_prefix):
    job = BackfillJobFactory(status=JobStatus.RUNNING)
    assert not waiting.workers_silent()  # never seen: the engine's other reasons apply
    heartbeat.beat_worker("celery@gone")
    assert not waiting.workers_silent()
    heartbeat.beat_worker("celery@gone", stopped=True)
    assert waiting.why_not_running(job=job).startswith(
        "No worker is running (the last one answered "
    )
