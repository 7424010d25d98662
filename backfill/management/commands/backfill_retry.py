from backfill.services import actions

from ._jobarg import JobActionCommand


class Command(JobActionCommand):
    help = "Run a finished job's failed units again (only those)."

    def act(self, job):
        count = actions.retry_failed(job=job)
        return f"Job {job.pk}: {count} failed units queued again."
