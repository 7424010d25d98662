from backfill.services import actions

from ._jobarg import JobActionCommand, job_status_line


class Command(JobActionCommand):
    help = (
        "Pause a backfill job: no new unit starts; units in flight finish; "
        "resume continues from the checkpoint."
    )

    def act(self, job):
        return job_status_line(actions.pause_job, job)
