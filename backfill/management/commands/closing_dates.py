"""`manage.py closing_dates list|export|discover`: the merged month-end closing registry."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backfill.services.closing_dates import discover_month_closing
from backfill_project.command_options import iso_month, one_value_options
from districts import closing_discovery
from districts.dashboard.closing import registry_json
from districts.dashboard.errors import DashboardError
from districts.dashboard.urls import EARLIEST_DATE


class Command(BaseCommand):
    help = (
        "Month-end closing dates (shipped registry, discovered and operator rows, "
        "CLOSING_DATES_FILE): list them, export them in the shipped JSON shape, or discover a "
        "month's closing date by probing the dashboard through the global rate limiter."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        sub = parser.add_subparsers(dest="action", required=True)
        listing = one_value_options(
            sub.add_parser("list", help="Each month, its closing date and its source.")
        )
        listing.add_argument(
            "--since",
            type=iso_month(minimum=date.min, maximum=date.max),
            help="First month to list (YYYY-MM).",
        )
        export = one_value_options(
            sub.add_parser("export", help="The merged registry as JSON (shipped shape).")
        )
        export.add_argument("--output", help="Write to this file instead of stdout.")
        discover = one_value_options(
            sub.add_parser("discover", help="Probe the dashboard for a month's closing.")
        )
        discover.add_argument(
            "--month",
            required=True,
            type=iso_month(minimum=EARLIEST_DATE, maximum=date(2100, 12, 1)),
            help=f"Data month, YYYY-MM, from {EARLIEST_DATE:%Y-%m} to 2100-12.",
        )

    def handle(self, *args, action, **options):
        match action:
            case "list":
                self._list(options.get("since"))
            case "export":
                self._export(options.get("output"))
            case "discover":
                self._discover(options["month"])

    def _list(self, since: date | None) -> None:
        first = since or date.min
        for entry in closing_discovery.month_closings():
            if entry.data_month >= first:
                self.stdout.write(
                    f"{entry.data_month:%Y-%m}  {entry.closing_date.isoformat()}  {entry.source}"
                )
        for row in closing_discovery.open_closings():
            if row.data_month >= first and row.still_closing_on:
                self.stdout.write(
                    f"{row.data_month:%Y-%m}  still closing on {row.still_closing_on.isoformat()}"
                )

    def _export(self, output: str | None) -> None:
        text = json.dumps(registry_json(), indent=2) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stdout.write(f"{len(registry_json()['months'])} months written to {output}")
        else:
            self.stdout.write(text, ending="")

    def _discover(self, month: date) -> None:
        try:
            found = discover_month_closing(data_month=month)
        except (DashboardError, ValueError) as exc:
            raise CommandError(f"{month:%Y-%m}: {exc}") from exc
        if found.is_open:
            seen = found.still_closing_on.isoformat() if found.still_closing_on else "today"
            self.stdout.write(
                f"{month:%Y-%m} is still closing (served as of {seen}); {found.requests} requests"
            )
        else:
            self.stdout.write(
                f"{month:%Y-%m} closed on {found.closing_date.isoformat()} "
                f"({found.source}; {found.requests} requests)"
            )
