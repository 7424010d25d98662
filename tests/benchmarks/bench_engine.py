"""Issue 4 benchmarks: planning a 43,800-unit job, reading its progress, orchestration overhead."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from datetime import date, timedelta

import requests

from backfill.contracts import backfill_request
from backfill.models import TERMINAL_JOB_STATUSES, BackfillJob, RateLimitConfig
from backfill.selectors import jobs as job_reads
from backfill.services import jobs
from districts.dashboard.client import DashboardClient
from districts.dashboard.collect import collect_district
from snapshots import store

from .harness import bench_environment, simulator_process, worker_process

DISTRICTS = [str(n) for n in range(1, 121)]
YEAR_START = date(2024, 7, 1)


def _no_pacing() -> dict:
    config = RateLimitConfig.load()
    saved = {
        f: getattr(config, f)
        for f in ("max_requests", "window_ms", "min_delay_ms", "max_concurrent")
    }
    RateLimitConfig.objects.filter(pk=config.pk).update(
        max_requests=1_000_000, window_ms=1_000, min_delay_ms=0, max_concurrent=8
    )
    return saved


def _restore(saved: dict) -> None:
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(**saved)


def _big_job() -> tuple[BackfillJob, float, float]:
    request = {
        "startDate": YEAR_START.isoformat(),
        "endDate": (YEAR_START + timedelta(days=364)).isoformat(),
        "targetDistricts": DISTRICTS,
        "collectionType": "per-district",
    }
    tracemalloc.start()
    started = time.perf_counter()
    job = jobs.create_job(request=backfill_request(request), created_via="cli")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Keep it out of the queue: this job exists to be measured, not run.
    BackfillJob.objects.filter(pk=job.pk).update(status="cancelled")
    job.refresh_from_db()
    return job, elapsed, peak


def planning() -> dict:
    with bench_environment("http://127.0.0.1:9"):
        job, elapsed, peak = _big_job()
        try:
            return {
                "units": job.total_units,
                "seconds": round(elapsed, 2),
                "target_seconds": 5,
                "peak_python_mb": round(peak / 2**20, 1),
                "target_mb": 300,
            }
        finally:
            job.delete()


def status_read() -> dict:
    with bench_environment("http://127.0.0.1:9"):
        job, _, _ = _big_job()
        try:
            timings = []
            for _ in range(200):
                started = time.perf_counter()
                job.refresh_from_db()
                progress = job_reads.job_progress(job=job)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            return {
                "units": job.total_units,
                "districts_in_progress": len(progress.districts),
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
                "target_p95_ms": 50,
            }
        finally:
            job.delete()


def api_status() -> dict:
    """`GET /api/admin/backfill/{job_id}` on a running 43,800-unit job, through the whole stack
    (token authentication, selectors, Redis performance status, serialization)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    with bench_environment("http://127.0.0.1:9"):
        job, _, _ = _big_job()
        user = get_user_model().objects.create_superuser(f"bench-{job.pk}")
        try:
            # Running, a few units in flight: what an operator polls.
            BackfillJob.objects.filter(pk=job.pk).update(status="running")
            first = job.units.order_by("logical_date", "district_id")[:3]
            job.units.filter(pk__in=[u.pk for u in first]).update(status="running")
            client = APIClient(SERVER_NAME="localhost")
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
            url = f"/api/admin/backfill/{job.pk}"

            def poll(*, every: float) -> list[float]:
                timings = []
                for _ in range(200):
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.content[:500]
                    time.sleep(every)
                return sorted(timings)

            # An admin page polling every 0.5 s, and clients polling back to back.
            paced = poll(every=0.5)
            busy = poll(every=0)
            body = client.get(url).json()
            return {
                "units": job.total_units,
                "districts_in_progress": len(body["progress"]["districtProgress"]),
                "response_bytes": len(client.get(url).content),
                "polling_0_5s_p50_ms": round(statistics.median(paced), 2),
                "polling_0_5s_p95_ms": round(paced[int(len(paced) * 0.95)], 2),
                "back_to_back_p50_ms": round(statistics.median(busy), 2),
                "back_to_back_p95_ms": round(busy[int(len(busy) * 0.95)], 2),
                "target_p95_ms": 50,
            }
        finally:
            user.delete()
            job.delete()


def orchestration(units: int = 2_000) -> dict:
    """The engine (worker, queue, checkpoints) against a plain loop doing the same requests,
    parsing and writes. Both sequential: one worker process, job concurrency 1."""
    districts = [str(n) for n in range(1, 11)]
    days = units // len(districts)
    start = date(2025, 1, 6)
    dates = [start + timedelta(days=i) for i in range(days)]
    saved = _no_pacing()
    try:
        with simulator_process() as base_url:
            with bench_environment(base_url):
                client = DashboardClient(base_url=base_url)
                began = time.perf_counter()
                for day in dates:
                    for district_id in districts:
                        try:
                            collected = collect_district(
                                client, district_id=district_id, logical_date=day
                            )
                        except Exception:
                            continue
                        for report, data in collected.raw.items():
                            store.archive_raw_csv(
                                as_of=collected.as_of,
                                report=report,
                                district_id=district_id,
                                data=data,
                            )
                        store.write_district(logical_date=day, statistics=collected.statistics)
                    store.finalize_snapshot(
                        logical_date=day,
                        collection_strategy="per-district",
                        scope=districts,
                        job_id=None,
                        district_errors={},
                    )
                plain = time.perf_counter() - began
                client.close()

            with bench_environment(base_url) as (env, _root), worker_process(env, concurrency=1):
                requests.delete(f"{base_url}/_simulator/requests", timeout=5)
                job = jobs.create_job(
                    request=backfill_request(
                        {
                            "startDate": dates[0].isoformat(),
                            "endDate": dates[-1].isoformat(),
                            "targetDistricts": districts,
                            "collectionType": "per-district",
                            "concurrency": 1,
                            "skipExisting": False,
                        }
                    ),
                    created_via="cli",
                )
                began = time.perf_counter()
                while True:
                    job.refresh_from_db()
                    if job.status in TERMINAL_JOB_STATUSES:
                        break
                    time.sleep(0.05)
                engine = time.perf_counter() - began
        return {
            "units": job.total_units,
            "job_status": job.status,
            "plain_script_seconds": round(plain, 2),
            "engine_seconds": round(engine, 2),
            "ratio": round(engine / plain, 3),
            "target_ratio": 1.3,
        }
    finally:
        _restore(saved)
