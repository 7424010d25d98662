"""Check every manifest against the files on disk and the index against the manifests."""

from django.core.management.base import BaseCommand, CommandError

from snapshots.services import snapshots_verify


class Command(BaseCommand):
    help = (
        "Check snapshot manifests against the district files (missing, extra, checksum "
        "mismatch) and the index against the manifests. --repair rebuilds manifests and index "
        "rows from the files. Exits non-zero when problems remain."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair", action="store_true", help="rebuild manifests and the index from files"
        )

    def handle(self, *args, repair: bool, **options):
        report = snapshots_verify(repair=repair)
        for problem in report.found:
            self.stdout.write(f"problem: {problem}")
        if repair and report.found:
            repaired = len(report.found) - len(report.remaining)
            self.stdout.write(f"repaired {repaired} of {len(report.found)} problems")
            for problem in report.remaining:
                self.stdout.write(f"remaining: {problem}")
        self.stdout.write(
            f"checked {report.dates_checked} dates: {len(report.found)} problems found, "
            f"{len(report.remaining)} remaining"
        )
        if report.remaining:
            raise CommandError(f"{len(report.remaining)} problems remain")
