"""Shared by the job commands: look a job up by id with a clear error."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

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
