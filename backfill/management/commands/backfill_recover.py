from datetime import timedelta

from django.core.management.base import BaseCommand

from backfill.services import jobs


class Command(BaseCommand):
    help = "Resume stale jobs (no heartbeat for --stale-after seconds) and start queued ones."

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=int, help="Seconds (default: the setting)")

    def handle(self, *args, stale_after, **options):
        delta = timedelta(seconds=stale_after) if stale_after is not None else None
        recovered = jobs.recover_jobs(stale_after=delta)
        self.stdout.write(f"Recovered {len(recovered)} jobs: {' '.join(recovered) or '-'}")
