"""Import the toast-stats site's history into the snapshot store (website/importing/)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backfill_project.command_options import iso_date, one_value_options
from districts.dashboard.urls import EARLIEST_DATE
from website import importing
from website.sources import SiteSourceError

_DATE = iso_date(minimum=EARLIEST_DATE, maximum=date(2999, 12, 31))
# Exit code when a file was refused (the rest is stored).
REFUSED_EXIT_CODE = 3


class Command(BaseCommand):
    help = (
        "Import the site's snapshots from SRC (a directory, file:///dir, s3://bucket/prefix or "
        "gs://bucket/prefix) through the same acceptance and normalization as a download; no "
        "request to the dashboard. Prints what was stored, skipped (already stored) and refused "
        f"per date, with the reasons. Exit code {REFUSED_EXIT_CODE} when a file was refused."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument("source", metavar="SRC", help="Where the site's tree is")
        parser.add_argument("--start", type=_DATE, help="First date, YYYY-MM-DD")
        parser.add_argument("--end", type=_DATE, help="Last date, YYYY-MM-DD")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every file, store nothing"
        )

    def handle(self, *args, source, start=None, end=None, dry_run=False, **options):
        if start and end and start > end:
            raise CommandError(f"--start {start} is after --end {end}")
        try:
            outcomes = importing.import_site(source, start, end, dry_run=dry_run)
        except SiteSourceError as exc:
            raise CommandError(str(exc)) from None
        verb = "would store" if dry_run else "stored"
        for day, outcome in outcomes:
            self.stdout.write(
                f"{day}  {verb} {len(outcome.stored)}  skipped {len(outcome.skipped)}  "
                f"refused {len(outcome.refused)}"
            )
            for path, reason in outcome.refused:
                self.stdout.write(f"  refused {path}: {reason}")
        if not outcomes:
            self.stdout.write(f"No snapshot date in {source} within the range.")
        stored = sum(len(o.stored) for _, o in outcomes)
        refused = sum(len(o.refused) for _, o in outcomes)
        self.stdout.write(
            f"{len(outcomes)} dates: {verb} {stored} district files, refused {refused}."
        )
        if refused:
            raise SystemExit(REFUSED_EXIT_CODE)
