from django.core.management.base import BaseCommand, CommandError

from backfill.errors import JobStateConflict
from backfill.services import actions

from ._jobarg import get_job


class Command(BaseCommand):
    help = "Run a finished job's failed units again (only those)."

    def add_arguments(self, parser):
        parser.add_argument("job_id")

    def handle(self, *args, job_id, **options):
        try:
            count = actions.retry_failed(job=get_job(job_id))
        except JobStateConflict as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Job {job_id}: {count} failed units queued again.")
