from datetime import timedelta

from django.core.management.base import BaseCommand

from backfill.services import recovery
from backfill_project.command_options import integer, one_value_options

A_YEAR = 366 * 86_400


class Command(BaseCommand):
    help = (
        "Dispatch again units whose lease expired or whose worker is gone; for stale jobs (no "
        "heartbeat for --stale-after seconds) also units whose message may be lost. A unit a "
        "live worker holds is never sent twice. Then start queued jobs."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument(
            "--stale-after",
            type=integer(minimum=0, maximum=A_YEAR),
            help=f"Seconds without heartbeat, 0 to {A_YEAR} (a year; default: "
            "BACKFILL_STALE_AFTER_SECONDS)",
        )

    def handle(self, *args, stale_after, **options):
        delta = timedelta(seconds=stale_after) if stale_after is not None else None
        recovered = recovery.recover_jobs(stale_after=delta)
        self.stdout.write(f"Recovered {len(recovered)} jobs: {' '.join(recovered) or '-'}")
