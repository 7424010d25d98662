"""Publish the district-statistics site's file tree from the snapshot store."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backfill_project.command_options import iso_date, one_value_options
from districts.dashboard.urls import EARLIEST_DATE
from website.errors import PublishError
from website.publishing import publish

DATE = iso_date(minimum=EARLIEST_DATE, maximum=date(2100, 12, 31))


class Command(BaseCommand):
    help = (
        "Publish the site's files (district files, manifests, rankings, time series, v1/ and "
        "config/ indexes) of the stored dates to a destination: file:///dir, "
        "s3://bucket/prefix or gs://bucket/prefix. Only changed objects are written."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument(
            "--to", default="", help="destination (default: the PUBLISH_DESTINATION setting)"
        )
        parser.add_argument("--start", type=DATE, help="first date, YYYY-MM-DD (default: all)")
        parser.add_argument("--end", type=DATE, help="last date, YYYY-MM-DD (default: all)")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be written, write nothing"
        )

    def handle(self, *args, to: str, start, end, dry_run: bool, **options):
        if start and end and start > end:
            raise CommandError(f"--start {start} is after --end {end}")
        try:
            outcome = publish(to, start, end, dry_run=dry_run)
        except PublishError as exc:
            raise CommandError(exc.message) from exc
        verb = "would write" if dry_run else "written"
        self.stdout.write(
            f"{verb}: {outcome.written} objects, skipped (unchanged): {outcome.skipped}, "
            f"bytes: {outcome.bytes}"
        )
        for error in outcome.errors:
            self.stderr.write(f"error: {error}")
        if outcome.errors:
            raise CommandError(f"{len(outcome.errors)} errors while publishing")
