import json
import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError as RequestInvalid

from backfill import contracts
from backfill.models import BackfillJob, CreatedVia, JobStatus, RateLimitConfig
from backfill.selectors import jobs as job_reads
from backfill.services import jobs
from backfill.services.planning.preview import Preview
from backfill_project.command_options import WHOLE, one_value_options

from ._jobarg import messages

EXIT_CODES = {JobStatus.COMPLETED: 0, JobStatus.PARTIAL_SUCCESS: 2}


class Command(BaseCommand):
    help = (
        "Start a backfill job. --dry-run prints the preview; --wait follows it with a progress "
        "bar. Exit code: 0 complete, 2 partial success, 1 failed or cancelled."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument(
            "--job-type",
            choices=["data-collection", "analytics-generation", "publish", "import"],
            default="data-collection",
            help="analytics-generation reads the stored snapshots; publish writes them as the "
            "district-statistics site's tree (--destination); import reads such a tree back "
            "(--source). None of them sends a request to the dashboard",
        )
        parser.add_argument(
            "--destination",
            help="publish: where the site's tree is written (file:///dir, s3://bucket/prefix, "
            "gs://bucket/prefix; default PUBLISH_DESTINATION)",
        )
        parser.add_argument(
            "--source",
            help="import: the site's tree to read (file:///dir, s3://bucket/prefix, "
            "gs://bucket/prefix)",
        )
        parser.add_argument(
            "--start",
            help="First date, YYYY-MM-DD (required for data-collection; the other job types "
            "without dates cover every date there is)",
        )
        parser.add_argument("--end", help="Last date, YYYY-MM-DD (default: --start)")
        parser.add_argument("--districts", nargs="*", default=[], help="Target district ids")
        parser.add_argument(
            "--collection-type", choices=["auto", "system-wide", "per-district"], default="auto"
        )
        parser.add_argument("--concurrency", type=WHOLE, default=3)
        parser.add_argument("--rate-limit-delay-ms", type=WHOLE)
        parser.add_argument("--no-skip-existing", action="store_true")
        parser.add_argument(
            "--reprocess",
            choices=["missing", "failed", "all"],
            help="Which stored dates to collect again (wins over --no-skip-existing)",
        )
        parser.add_argument(
            "--from-archive",
            action="store_true",
            help="Re-normalize the archived CSVs of the dates (no request to the dashboard); "
            "every stored date is redone unless --reprocess says otherwise",
        )
        parser.add_argument(
            "--priority",
            choices=["low", "normal", "urgent"],
            default="normal",
            help="urgent: served before normal jobs, like the daily refresh (default normal)",
        )
        parser.add_argument("--no-retry-failures", action="store_true")
        parser.add_argument("--no-cache", action="store_true")
        parser.add_argument(
            "--no-update-analytics",
            action="store_true",
            help="Do not queue a follow-up analytics-generation job when the collection ends",
        )
        parser.add_argument(
            "--no-collect-summary",
            action="store_true",
            help="Per-district collection: do not collect each date's all-districts summary "
            "(the dates then get no rankings)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the preview only")
        parser.add_argument("--wait", action="store_true", help="Follow the job until it ends")
        parser.add_argument("--json", action="store_true", help="Machine-readable output")

    def handle(self, *args, **opts):
        request = {
            "jobType": opts["job_type"],
            "startDate": opts["start"],
            "endDate": opts["end"] or opts["start"],
            "targetDistricts": opts["districts"],
            "collectionType": opts["collection_type"],
            "concurrency": opts["concurrency"],
            "retryFailures": not opts["no_retry_failures"],
            "enableCaching": not opts["no_cache"],
            "updateAnalytics": not opts["no_update_analytics"],
            "priority": opts["priority"],
        }
        if opts["no_skip_existing"]:
            request["skipExisting"] = False
        if opts["from_archive"] and opts["source"]:
            raise CommandError("--from-archive and --source: one source at a time.")
        if opts["from_archive"]:
            request["source"] = "archive"
        if opts["source"]:
            request["source"] = opts["source"]
        if opts["destination"]:
            request["destination"] = opts["destination"]
        if opts["no_collect_summary"]:
            request["collectSummary"] = False
        if opts["reprocess"]:
            request["reprocess"] = opts["reprocess"]
        if opts["rate_limit_delay_ms"] is not None:
            request["rateLimitDelayMs"] = opts["rate_limit_delay_ms"]
        try:
            backfill_request = contracts.backfill_request(request)
        except RequestInvalid as exc:
            errors = contracts.error_messages(exc)  # values cut to 64 characters
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())) from exc
        try:
            if opts["dry_run"]:
                preview = jobs.preview_job(request=backfill_request)
                return self._print_preview(preview, opts["json"])
            job = jobs.create_job(request=backfill_request, created_via=CreatedVia.CLI)
        except ValidationError as exc:
            raise CommandError(messages(exc)) from exc
        if not opts["json"]:
            self.stdout.write(
                f"Job {job.pk} queued: {job.total_units} units, strategy {job.collection_strategy} "
                f"({job.strategy_rationale})"
            )
        if not opts["wait"]:
            if opts["json"]:
                self.stdout.write(json.dumps(_job_json(job)))
            return
        job = self._follow(job, quiet=opts["json"])
        if opts["json"]:
            self.stdout.write(json.dumps(_job_json(job)))
        else:
            self._print_summary(job)
        code = EXIT_CODES.get(job.status, 1)
        if code:
            sys.exit(code)

    def _print_preview(self, preview: Preview, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(_preview_json(preview)))
            return
        rate = RateLimitConfig.load()
        units = ", ".join(f"{n} {status}" for status, n in sorted(preview.units.items()))
        rows = [
            ("Collection strategy", f"{preview.collection_strategy}: {preview.rationale}"),
            ("Scope", _scope_text(preview.scope)),
            ("Units", f"{preview.total_units} ({units or 'none'})"),
            ("Requests", str(preview.requests)),
            (
                "Estimated duration",
                f"{_duration(preview.estimated_duration_seconds)} under the current rate limit "
                f"({rate.max_requests} per {rate.window_ms / 1000:g} s, at least "
                f"{rate.min_delay_ms / 1000:g} s apart)",
            ),
        ]
        if preview.reads is not None:
            reads = preview.reads
            rows += [
                (
                    "Snapshots read",
                    f"{reads.snapshot_dates} dates, {reads.district_files} district files "
                    f"(program years {', '.join(reads.program_years)})",
                ),
                ("Missing dates", _dates_text(reads.missing_dates)),
                ("Partial dates", _dates_text(reads.partial_dates)),
            ]
        rows += [("Warning", warning) for warning in preview.warnings]
        self.stdout.write("Preview (nothing was written)")
        for label, value in rows:
            self.stdout.write(f"  {label:<20} {value}")
        self.stdout.write("")
        self.stdout.write(f"  {'Date':<10}  {'Plan':<11}  {'Units':>5}  Reason")
        for day in preview.dates:
            self.stdout.write(
                f"  {day.logical_date.isoformat():<10}  {day.plan:<11}  "
                f"{day.units:>5}  {day.reason or '-'}"
            )

    def _follow(self, job: BackfillJob, *, quiet: bool) -> BackfillJob:
        width = 40
        began = time.monotonic()
        warned = False
        while True:
            job.refresh_from_db()
            progress = job_reads.job_progress(job=job, per_district=False)
            if not quiet:
                done = int(width * progress.percent / 100)
                eta = f" ETA {progress.eta_seconds:.0f}s" if progress.eta_seconds else ""
                self.stdout.write(
                    f"\r[{'#' * done}{'.' * (width - done)}] {progress.percent:5.1f}% "
                    f"{progress.succeeded} ok {progress.failed} failed "
                    f"{progress.skipped} skipped {progress.unavailable} unavailable "
                    f"({job.status}){eta}   ",
                    ending="",
                )
                self.stdout.flush()
            if job.status == JobStatus.PENDING and not warned and time.monotonic() - began > 15:
                warned = True
                self.stderr.write(
                    "\nThe job is still queued: another job may be running, or no worker is "
                    "consuming the queue (start one: celery -A backfill_project worker)."
                )
            if job.is_terminal:
                if not quiet:
                    self.stdout.write("")
                return job
            time.sleep(0.5)

    def _print_summary(self, job: BackfillJob) -> None:
        duration = (job.finished_at - job.started_at).total_seconds() if job.started_at else 0
        self.stdout.write(
            f"Job {job.pk} {job.status} in {duration:.1f}s: {job.succeeded_units} succeeded, "
            f"{job.skipped_units} skipped, {job.unavailable_units} unavailable, "
            f"{job.failed_units} failed, {job.cancelled_units} cancelled of {job.total_units}"
        )
        if job.waiting_units:
            self.stdout.write(
                f"{job.waiting_units} month-end units wait for their month's closing period to "
                "end; the daily gap fill collects them then."
            )
        if job.error_summary.get("totalErrors"):
            self.stdout.write(f"Errors: {json.dumps(job.error_summary)}")


def _preview_json(preview: Preview) -> dict:
    return {
        "collectionStrategy": preview.collection_strategy,
        "rationale": preview.rationale,
        "estimatedEfficiency": preview.estimated_efficiency,
        "scope": preview.scope,
        "totalUnits": preview.total_units,
        "pendingUnits": preview.pending_units,
        "skippedUnits": preview.skipped_units,
        "unavailableUnits": preview.unavailable_units,
        "waitingUnits": preview.waiting_units,
        "units": preview.units,
        "requests": preview.requests,
        "estimatedDurationSeconds": preview.estimated_duration_seconds,
        "warnings": list(preview.warnings),
        "dates": [
            {
                "date": day.logical_date.isoformat(),
                "plan": day.plan,
                "reason": day.reason,
                "units": day.units,
                "pendingUnits": day.pending_units,
            }
            for day in preview.dates
        ],
        "snapshotsRead": None
        if preview.reads is None
        else {
            "snapshotDates": preview.reads.snapshot_dates,
            "districtFiles": preview.reads.district_files,
            "programYears": list(preview.reads.program_years),
            "missingDates": [d.isoformat() for d in preview.reads.missing_dates],
            "partialDates": [d.isoformat() for d in preview.reads.partial_dates],
        },
    }


def _dates_text(dates) -> str:
    if not dates:
        return "none"
    shown = ", ".join(d.isoformat() for d in dates[:10])
    return shown + (f" and {len(dates) - 10} more" if len(dates) > 10 else "")


def _scope_text(scope: dict) -> str:
    targets = scope.get("targetDistricts") or scope.get("configuredDistricts") or []
    districts = ", ".join(targets) if targets else "every district"
    return f"{scope.get('scopeType', '-')}: {districts}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _job_json(job: BackfillJob) -> dict:
    return {
        "jobId": str(job.pk),
        "status": job.status,
        "collectionStrategy": job.collection_strategy,
        "progress": job_reads.job_progress(job=job, per_district=False).as_dict(),
        "errorSummary": job.error_summary,
    }
