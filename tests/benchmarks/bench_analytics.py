"""`make bench` analytics: an analytics-generation job over one program year of daily snapshots
for 120 districts (43,800 summary-level district files), run by a Celery worker with 1 and with
4 worker processes: seconds, units per second, peak memory (worker RSS).

`seed_program_year` builds the store in process, the way a system-wide collection would have
left it: the simulator's own summary rows rendered as the dashboard's CSV (archived raw, as a
collection archives it), normalized with `normalize_summary`, written with `write_district`,
and each date's manifest written by `finalize_snapshot`. The archive re-normalization bench
reuses it.

With `BENCH_YEAR=1` the job runs over the program year of `year_store` instead (full-detail
district files of the dates with data of their own), on a hard-linked working copy, with
`BENCH_PROCESSES` worker processes (default `1,2`).
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.test import override_settings

from backfill.contracts import backfill_request
from backfill.models import TERMINAL_JOB_STATUSES, RateLimitConfig
from backfill.services import jobs
from districts.dashboard.csv import Footer, ParsedExport
from districts.dashboard.normalize import normalize_summary
from districts.dashboard.reports import ReportType, canonical_field
from districts.dashboard.statistics import DistrictStatistics
from simulator import generation
from simulator.exports import report_header
from simulator.periods import ProgramYear
from simulator.rendering import render_export
from snapshots import store

from . import year_store
from .harness import bench_environment, simulator_process, worker_process
from .year_jobs import label, process_counts, year_environment

PROGRAM_YEAR = "2024-2025"
SEED = 0


def _summary_day(
    args: tuple[date, tuple[str, ...]],
) -> tuple[date, bytes, list[DistrictStatistics]]:
    """One day's district summary: the raw CSV and its normalized statistics (CPU only; run in
    a process pool)."""
    day, district_ids = args
    year = ProgramYear.parse(PROGRAM_YEAR)
    data_month = day.replace(day=1)
    header = report_header(ReportType.DISTRICT_SUMMARY, data_month)
    rows = generation.summary_rows(
        SEED, year.start, float((day - year.first_day).days), district_ids
    )
    fields = [field for field in (canonical_field(name) for name in header) if field]
    export = ParsedExport(
        report=ReportType.DISTRICT_SUMMARY,
        header=header,
        rows=tuple({field: str(row[field]) for field in fields} for row in rows),
        footer=Footer(data_month=data_month, as_of=day),
    )
    statistics = normalize_summary(summary=export, logical_date=day)
    return day, render_export(export), list(statistics.values())


def seed_program_year(root: Path, days: int = 365, districts: int = 120) -> dict:
    """Store `days` daily snapshots from July 1 of PROGRAM_YEAR for the first `districts`
    districts of the simulator, under the snapshot root `root`, as system-wide collections
    would: raw summary CSV archived per as-of date, one summary-level district file per
    district and date, a completed manifest per date. Returns what was written and how long
    it took."""
    year = ProgramYear.parse(PROGRAM_YEAR)
    ids = generation.district_ids(year.start)[:districts]
    dates = [year.first_day + timedelta(days=i) for i in range(days)]
    storages = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    began = time.perf_counter()
    files = 0
    connections.close_all()  # the pool forks: no connection shared with its processes
    with (
        override_settings(SNAPSHOT_ROOT=Path(root), STORAGES=storages),
        ProcessPoolExecutor(max_workers=2) as pool,
    ):
        for day, raw, statistics in pool.map(_summary_day, [(d, ids) for d in dates]):
            store.archive_raw_csv(as_of=day, report="districtsummary", district_id=None, data=raw)
            for row in statistics:
                store.write_district(logical_date=day, statistics=row)
                files += 1
            store.finalize_snapshot(
                logical_date=day,
                collection_strategy="system-wide",
                scope=[],
                job_id=None,
                district_errors={},
            )
    return {"dates": len(dates), "district_files": files, "seconds": time.perf_counter() - began}


def _peak_rss_mib(pid: int) -> float:
    """The peak resident set (VmHWM) of a process and its pool children, summed, in MiB."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    total = 0
    for each in [pid, *map(int, children.split())]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def _largest_pool_rss_mib(pid: int) -> float:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    peaks = [_peak_rss_mib(int(child)) for child in children.split()] or [0.0]
    return max(peaks)


def run_job(env: dict[str, str], processes: int, request: dict) -> dict:
    """Run one job (`request`, camelCase) on a worker with `processes` pool processes; its
    outcome, duration, throughput and the worker's peak memory."""
    with worker_process(env, concurrency=processes) as worker:
        job = jobs.create_job(request=backfill_request(request), created_via="cli")
        began = time.perf_counter()
        while True:
            job.refresh_from_db()
            if job.status in TERMINAL_JOB_STATUSES:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        peak_total = _peak_rss_mib(worker.pid)
        peak_process = _largest_pool_rss_mib(worker.pid)
    return {
        "status": job.status,
        "units": job.total_units,
        "succeeded": job.succeeded_units,
        "seconds": round(seconds, 2),
        "units_per_second": round(job.total_units / seconds, 1),
        "peak_rss_worker_total_mib": peak_total,
        "peak_rss_largest_pool_process_mib": peak_process,
    }


def _run_job(env: dict[str, str], processes: int, files: int) -> dict:
    request = {"jobType": "analytics-generation", "concurrency": min(processes, 10)}
    result = run_job(env, processes, request)
    # Each file is read twice: by its district's time series and by its date's rankings.
    result["district_file_reads_per_second"] = round(2 * files / result["seconds"])
    return result


def run_year() -> dict:
    spec = year_store.YearSpec.from_environment()
    result = year_store.described(year_store.seed(spec))
    with year_environment(spec, "analytics-") as (env, _, _):
        for processes in process_counts("1,2"):
            for key, value in _run_job(env, processes, result["store_district_files"]).items():
                result[f"{label(processes)}_{key}"] = value
    return result


def run(days: int = 365, districts: int = 120) -> dict:
    if year_store.enabled():
        return run_year()
    config = RateLimitConfig.load()
    saved = config.max_concurrent
    RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=8)
    try:
        with simulator_process() as base_url, bench_environment(base_url) as (env, root):
            seeded = seed_program_year(root, days=days, districts=districts)
            result = {
                "seed_dates": seeded["dates"],
                "seed_district_files": seeded["district_files"],
                "seed_seconds": round(seeded["seconds"], 1),
            }
            for processes in (1, 4):
                for key, value in _run_job(env, processes, seeded["district_files"]).items():
                    result[f"{processes}_process{'es' if processes > 1 else ''}_{key}"] = value
            return result
    finally:
        RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=saved)
