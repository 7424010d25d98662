"""The checks of /readyz from the command line: the healthcheck of the worker and beat
containers (which serve no HTTP), and an operator's first look."""

import json

from django.core.management.base import BaseCommand, CommandError

from alerts.health.checks import CHECKS, run_checks


class Command(BaseCommand):
    help = "Run the readiness checks of /readyz; exit 1 when one fails."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="append",
            choices=list(CHECKS),
            help="Run only this check (repeatable); all by default.",
        )

    def handle(self, *args, check=None, **options):
        results = run_checks(check)
        self.stdout.write(json.dumps({r.name: r.as_dict() for r in results}, indent=2))
        failed = [r for r in results if not r.ok]
        if failed:
            raise CommandError("; ".join(f"{r.name}: {r.reason}" for r in failed))
