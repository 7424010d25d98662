import json

from django.core.management.base import BaseCommand

from backfill.models import JobStatus
from backfill.selectors import history
from backfill_project.command_options import integer, one_value_options


class Command(BaseCommand):
    help = "List backfill jobs, newest first."

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument("--status", choices=JobStatus.values)
        parser.add_argument(
            "--limit",
            type=integer(minimum=1, maximum=1000),
            default=20,
            help="1 to 1000 (default 20)",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, status, limit, json: bool = False, **options):
        page, _ = history.job_history(status=status, limit=limit)
        rows = [
            {
                "jobId": job.job_id,
                "jobType": job.job_type,
                "status": job.status,
                "collectionStrategy": job.collection_strategy,
                "startDate": job.start_date.isoformat(),
                "endDate": job.end_date.isoformat(),
                "progress": {
                    "total": job.total,
                    "succeeded": job.succeeded,
                    "skipped": job.skipped,
                    "unavailable": job.unavailable,
                    "failed": job.failed,
                    "cancelled": job.cancelled,
                    "percent": job.percent,
                },
                "createdAt": job.created_at.isoformat(),
            }
            for job in page
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        for row in rows:
            p = row["progress"]
            self.stdout.write(
                f"{row['jobId']}  {row['status']:<15} {row['collectionStrategy']:<12} "
                f"{row['startDate']}..{row['endDate']}  {p['percent']:5.1f}% "
                f"({p['succeeded']} ok, {p['failed']} failed of {p['total']})"
            )
        if not rows:
            self.stdout.write("No jobs.")


def _dumps(rows) -> str:
    return json.dumps(rows, indent=2)
