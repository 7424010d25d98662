from datetime import timedelta

from django.core.management.base import BaseCommand

from backfill.services import cleanup

from ._options import NON_NEGATIVE


class Command(BaseCommand):
    help = "Delete finished jobs and task results older than --days (snapshots are kept)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=NON_NEGATIVE, help="0 or more (default: BACKFILL_JOB_RETENTION_DAYS)"
        )

    def handle(self, *args, days, **options):
        deleted = cleanup.cleanup_jobs(
            older_than=timedelta(days=days) if days is not None else None
        )
        self.stdout.write(
            f"Deleted {deleted['jobs']} jobs ({deleted['units']} units) and "
            f"{deleted['taskResults']} task results."
        )
