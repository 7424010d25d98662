"""Audit a random sample of stored snapshots against the dashboard (backfill/services/audits.py)."""

import json

from django.core.management.base import BaseCommand

from backfill.models import AuditOutcome
from backfill.services import audits
from backfill_project.command_options import SEED, integer, one_value_options


class Command(BaseCommand):
    help = (
        "Re-fetch a random sample of stored (date, district) exports of closed months through "
        "the rate limiter and compare them with what is stored. Records each check; never "
        "changes the store. Exit code 3 when drift was found."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument(
            "--sample",
            type=integer(minimum=1, maximum=1000),
            help="How many, 1 to 1000 (default: the setting)",
        )
        parser.add_argument("--seed", type=SEED, help="Random seed, to repeat a sample")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, sample=None, seed=None, json: bool = False, **options):
        checked = audits.audit_snapshots(sample_size=sample, seed=seed)
        rows = [
            {
                "date": a.logical_date.isoformat(),
                "districtId": a.district_id,
                "detail": a.detail,
                "outcome": a.outcome,
                "differences": a.differences,
                "message": a.message,
                "requests": a.requests_made,
            }
            for a in checked
        ]
        if json:
            self.stdout.write(_dumps(rows))
        elif not rows:
            self.stdout.write("Nothing to audit: no stored snapshot of a closed month.")
        for row in [] if json else rows:
            self.stdout.write(
                f"{row['date']}  district {row['districtId']:<4} {row['detail']:<8} "
                f"{row['outcome']:<6} {row['message']}"
            )
        if any(a.outcome == AuditOutcome.DRIFT for a in checked):
            raise SystemExit(3)


def _dumps(rows) -> str:
    return json.dumps(rows, indent=2)
