"""Issue 21: polling the status of a running 43,800-unit job over real HTTP.

A gunicorn web process (as in the Dockerfile: 3 workers) serves the bench database; 10 pollers
(threads, each its own connection) poll back to back, the worst case of the old front end's
2-second polling by many open tabs. Measured for the unified status, the legacy status and both
with `If-None-Match` (an unchanged job answers 304 without a body), plus the legacy status with
one poller. Run alone: `python -m tests.benchmarks polling`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from rest_framework.authtoken.models import Token

from backfill.models import BackfillJob, UnitCount, UnitStatus

from .bench_engine import _big_job
from .harness import ROOT, bench_environment, free_port, wait_until_serving

POLLERS = 10
POLLS_EACH = 20
# The old front end polls every 2 s (useBackfill.ts).
OLD_UI_INTERVAL_SECONDS = 2.0
TARGETS_P95_MS = {"unified": 100, "legacy": 50}
COUNTER_FOR = {
    UnitStatus.SUCCEEDED: "succeeded_units",
    UnitStatus.SKIPPED: "skipped_units",
    UnitStatus.UNAVAILABLE: "unavailable_units",
    UnitStatus.FAILED: "failed_units",
    UnitStatus.CANCELLED: "cancelled_units",
}


def running_job() -> BackfillJob:
    """120 districts x 365 dates (units written in bulk by the planner), running: the first
    third of the dates done (mostly succeeded, some skipped, unavailable or failed after
    retries), 20 units in flight, the rest pending. Counters set from the trigger-kept counts."""
    job, _, _ = _big_job()
    ids = list(job.units.order_by("logical_date", "district_id").values_list("pk", flat=True))
    third = len(ids) // 3
    units = job.units.all()
    units.filter(pk__in=ids[:third]).update(status=UnitStatus.SUCCEEDED, attempts=1)
    units.filter(pk__in=ids[:third:37]).update(status=UnitStatus.SKIPPED, attempts=0)
    units.filter(pk__in=ids[1:third:53]).update(status=UnitStatus.UNAVAILABLE, attempts=1)
    units.filter(pk__in=ids[2:third:29]).update(
        status=UnitStatus.FAILED,
        attempts=3,
        error_type="http_5xx",
        error_message="dashboard answered 503",
        retryable=True,
    )
    units.filter(pk__in=ids[third : third + 20]).update(status=UnitStatus.RUNNING, attempts=1)
    counts = dict(UnitCount.objects.filter(job=job).values_list("status").annotate(n=Sum("count")))
    now = timezone.now()
    BackfillJob.objects.filter(pk=job.pk).update(
        status="running",
        started_at=now - timedelta(hours=1),
        heartbeat_at=now,
        finished_at=None,
        **{field: counts.get(status, 0) for status, field in COUNTER_FOR.items()},
    )
    job.refresh_from_db()
    # Planner statistics as autovacuum keeps them for a job that has run for an hour.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE backfill_backfillunit")
    return job


@contextmanager
def web_process(env: dict[str, str]):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkdtemp(prefix="bench-web-")) / "web.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "backfill_project.wsgi"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "3"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(f"{base_url}/api/admin/backfill/jobs", process, log_path)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=30)


def poll(
    url: str, token: str, *, pollers: int, conditional: bool, every: float = 0.0
) -> dict[str, float]:
    """`pollers` threads polling `url`, each every `every` seconds (0: back to back), their
    starts spread over one interval; p50/p95 of all their requests."""
    timings: list[float] = []
    codes: set[int] = set()
    lock = threading.Lock()

    def poller(offset: float) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        etag = session.get(url, timeout=30).headers["ETag"] if conditional else None
        mine = []
        next_at = time.perf_counter() + offset
        for _ in range(POLLS_EACH):
            headers = {"If-None-Match": etag} if etag else {}
            time.sleep(max(next_at - time.perf_counter(), 0))
            started = time.perf_counter()
            next_at = started + every
            response = session.get(url, headers=headers, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            with lock:
                codes.add(response.status_code)
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=poller, args=(every * i / pollers,)) for i in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95)], 1),
        "codes": ",".join(str(c) for c in sorted(codes)),
    }


def _against(p95_ms: float, target_ms: int) -> str:
    verdict = "met" if p95_ms < target_ms else "MISSED"
    return f"{p95_ms} ms vs target < {target_ms} ms: {verdict}"


def run() -> dict:
    with bench_environment("http://127.0.0.1:9") as (env, _root):
        job = running_job()
        user = get_user_model().objects.create_superuser(f"bench-poll-{job.pk}")
        token = Token.objects.create(user=user).key
        try:
            with web_process(env) as base_url:
                urls = {
                    "unified": f"{base_url}/api/admin/backfill/{job.pk}",
                    "legacy": f"{base_url}/api/districts/backfill/{job.pk}",
                }
                sizes = {
                    name: len(
                        requests.get(
                            url, headers={"Authorization": f"Token {token}"}, timeout=30
                        ).content
                    )
                    for name, url in urls.items()
                }
                result: dict = {"units": job.total_units, "pollers": POLLERS}
                result.update({f"{name}_bytes": size for name, size in sizes.items()})
                figures = {
                    "legacy_1_poller": poll(urls["legacy"], token, pollers=1, conditional=False)
                }
                for name, url in urls.items():
                    for pace, every in (("every_2s", OLD_UI_INTERVAL_SECONDS), ("busy", 0.0)):
                        figures[f"{name}_{pace}"] = poll(
                            url, token, pollers=POLLERS, conditional=False, every=every
                        )
                        figures[f"{name}_{pace}_if_none_match"] = poll(
                            url, token, pollers=POLLERS, conditional=True, every=every
                        )
                for name, figure in figures.items():
                    result[f"{name}_p50_ms"] = figure["p50_ms"]
                    result[f"{name}_p95_ms"] = figure["p95_ms"]
                    route = name.split("_", 1)[0]
                    if "every_2s" in name and route in TARGETS_P95_MS:
                        # The target, printed beside the figure it is about.
                        result[f"{name}_p95_target"] = _against(
                            figure["p95_ms"], TARGETS_P95_MS[route]
                        )
                    result[f"{name}_status_codes"] = figure["codes"]
                return result
        finally:
            user.delete()
            job.delete()
