"""Shared by the job commands: look a job up by id with a clear error; the operator actions'
one command shape (`JobActionCommand`)."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from backfill.errors import JobStateConflict
from backfill.models import BackfillJob


def get_job(job_id: str) -> BackfillJob:
    try:
        return BackfillJob.objects.get(pk=job_id)
    except (BackfillJob.DoesNotExist, ValidationError, ValueError) as exc:
        raise CommandError(f"No backfill job with id {job_id!r}.") from exc


def messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "; ".join(exc.messages)


class JobActionCommand(BaseCommand):
    """`manage.py backfill_<action> JOB_ID`: one operator action (`backfill.services.actions`)
    on one job; a state that forbids it is a CommandError with the service's message."""

    def add_arguments(self, parser):
        parser.add_argument("job_id")

    def act(self, job: BackfillJob) -> str:
        """Run the action; returns the line to print."""
        raise NotImplementedError

    def handle(self, *args, job_id, **options):
        try:
            self.stdout.write(self.act(get_job(job_id)))
        except JobStateConflict as exc:
            raise CommandError(exc.message) from exc


def job_status_line(action: Callable[..., BackfillJob], job: BackfillJob) -> str:
    job = action(job=job)
    return f"Job {job.pk}: {job.status}"
