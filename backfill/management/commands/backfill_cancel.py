from backfill.services import actions

from ._jobarg import JobActionCommand, job_status_line


class Command(JobActionCommand):
    help = "Cancel a backfill job (cooperative: in-flight units stop before their next request)."

    def act(self, job):
        return job_status_line(actions.cancel_job, job)
