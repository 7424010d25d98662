from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from backfill.services import jobs

from ._jobarg import get_job, messages


class Command(BaseCommand):
    help = "Run a finished job's failed units again (only those)."

    def add_arguments(self, parser):
        parser.add_argument("job_id")

    def handle(self, *args, job_id, **options):
        try:
            count = jobs.retry_failed(job=get_job(job_id))
        except ValidationError as exc:
            raise CommandError(messages(exc)) from exc
        self.stdout.write(f"Job {job_id}: {count} failed units queued again.")
