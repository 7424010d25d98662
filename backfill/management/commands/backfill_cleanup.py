from datetime import timedelta

from django.core.management.base import BaseCommand

from backfill.services import jobs


class Command(BaseCommand):
    help = "Delete finished jobs and task results older than --days (snapshots are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Default: BACKFILL_JOB_RETENTION_DAYS")

    def handle(self, *args, days, **options):
        deleted = jobs.cleanup_jobs(older_than=timedelta(days=days) if days is not None else None)
        self.stdout.write(
            f"Deleted {deleted['jobs']} jobs ({deleted['units']} units) and "
            f"{deleted['taskResults']} task results."
        )
