"""`make bench` archive: re-normalizing one program year of daily snapshots for 120 districts
from the raw archive (`source: archive`, system-wide: one archived district summary per date,
365 units, of which those outside closing periods rewrite 120 district files and a manifest
each), with 1 and with 4 worker
processes: seconds, units and district files per second, peak memory, and the simulator's
request count (it must stay 0: the archive makes no request).

The store is seeded by `bench_analytics.seed_program_year`, as a system-wide collection leaves
it; the bench then checks that the re-normalized files are byte for byte the seeded ones.

With `BENCH_YEAR=1` it re-normalizes the program year of `year_store` per district instead
(365 dates x 120 districts planned: 43,800 units, of which the dates in closing periods have no
data of their own and end without a file; the others rewrite one district file each), on a
hard-linked working copy, with `BENCH_PROCESSES` worker processes (default 2).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import requests

from backfill.models import RateLimitConfig

from . import year_store
from .bench_analytics import PROGRAM_YEAR, run_job, seed_program_year
from .harness import bench_environment, simulator_process
from .year_jobs import label, process_counts, year_environment


def _digest(root: Path) -> str:
    """One sha256 over every district file (name and bytes), in name order."""
    digest = hashlib.sha256()
    for path in sorted(root.glob("????-??-??/district_*.json")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def run_year() -> dict:
    spec = year_store.YearSpec.from_environment()
    result = year_store.described(year_store.seed(spec))
    first = spec.start
    request = {
        "startDate": first.isoformat(),
        "endDate": (first + timedelta(days=spec.days - 1)).isoformat(),
        "source": "archive",
        "collectionType": "per-district",
        "targetDistricts": spec.district_ids(),
        "updateAnalytics": False,
    }
    with year_environment(spec, "archive-") as (env, root, base_url):
        before = _digest(root)
        for processes in process_counts("2"):
            run = run_job(env, processes, {**request, "concurrency": min(processes, 10)})
            run["district_files_per_second"] = round(
                result["store_district_files"] / run["seconds"]
            )
            for key, value in run.items():
                result[f"{label(processes)}_{key}"] = value
        result["identical_files"] = _digest(root) == before
        log = requests.get(f"{base_url}/_simulator/requests", timeout=10).json()
        result["simulator_requests"] = len(log["requests"])
    return result


def run(days: int = 365, districts: int = 120) -> dict:
    if year_store.enabled():
        return run_year()
    config = RateLimitConfig.load()
    saved = config.max_concurrent
    RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=8)
    first = date(int(PROGRAM_YEAR[:4]), 7, 1)
    request = {
        "startDate": first.isoformat(),
        "endDate": (first + timedelta(days=days - 1)).isoformat(),
        "source": "archive",
        "collectionType": "system-wide",
        "updateAnalytics": False,
    }
    try:
        with simulator_process() as base_url, bench_environment(base_url) as (env, root):
            seeded = seed_program_year(root, days=days, districts=districts)
            before = _digest(Path(root))
            result = {"seed_district_files": seeded["district_files"]}
            for processes in (1, 4):
                run = run_job(env, processes, {**request, "concurrency": min(processes, 10)})
                run["district_files_per_second"] = round(seeded["district_files"] / run["seconds"])
                name = f"{processes}_process{'es' if processes > 1 else ''}"
                for key, value in run.items():
                    result[f"{name}_{key}"] = value
            result["identical_files"] = _digest(Path(root)) == before
            log = requests.get(f"{base_url}/_simulator/requests", timeout=10).json()
            result["simulator_requests"] = len(log["requests"])
            return result
    finally:
        RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=saved)
