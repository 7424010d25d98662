from django.core.management.base import BaseCommand, CommandError

from backfill.errors import JobStateConflict
from backfill.services import actions

from ._jobarg import get_job


class Command(BaseCommand):
    help = (
        "Resume a paused backfill job from its checkpoint "
        "(it is queued again in its original place)."
    )

    def add_arguments(self, parser):
        parser.add_argument("job_id")

    def handle(self, *args, job_id, **options):
        try:
            job = actions.resume_job(job=get_job(job_id))
        except JobStateConflict as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Job {job.pk}: {job.status}")
