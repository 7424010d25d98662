from backfill.services import actions

from ._jobarg import JobActionCommand, job_status_line


class Command(JobActionCommand):
    help = (
        "Resume a paused backfill job from its checkpoint "
        "(it is queued again in its original place)."
    )

    def act(self, job):
        return job_status_line(actions.resume_job, job)
