from datetime import timedelta

from django.core.management.base import BaseCommand

from backfill.services import cleanup
from backfill_project.command_options import integer, one_value_options

A_CENTURY = 36_500


class Command(BaseCommand):
    help = "Delete finished jobs and task results older than --days (snapshots are kept)."

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument(
            "--days",
            type=integer(minimum=0, maximum=A_CENTURY),
            help=f"0 to {A_CENTURY} (default: BACKFILL_JOB_RETENTION_DAYS)",
        )

    def handle(self, *args, days, **options):
        deleted = cleanup.cleanup_jobs(
            older_than=timedelta(days=days) if days is not None else None
        )
        self.stdout.write(
            f"Deleted {deleted['jobs']} jobs ({deleted['units']} units) and "
            f"{deleted['taskResults']} task results."
        )
