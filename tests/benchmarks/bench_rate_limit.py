"""Rate-limit utilization (issue 5): 2 worker processes x 4 threads against a simulator process,
limit 20 requests/s, real dashboard client behind the guard's hooks.

Reports wall time / (requests / rate) - target at most 1.05 - (and the same ratio without the
first window's free burst, which flatters short runs) and the number of limit violations in the
simulator's own request log (windows of 1 s holding more than 20 arrivals: strictly, and allowing
10 ms of arrival jitter as the tests do) - target 0. `BENCH_RATE_LIMIT_REQUESTS` sets the request
count (default 1,200; a smaller one makes a quick smoke run).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid

from django.conf import settings

from backfill.limits import CircuitBreaker, DashboardGuard, LimitSettings, RateLimiter
from backfill.limits.connection import connect
from districts.dashboard.client import DashboardClient
from districts.dashboard.errors import DashboardError
from tests.fixtures.simulator import start_simulator_process

PROCESSES = 2
THREADS = 4
LIMITS = LimitSettings(max_requests=20, window_ms=1_000, min_delay_ms=0, max_concurrent=8)
SUMMARY = "districtsummary~6/30/2024~7/15/2024~2023-2024"
DEFAULT_REQUESTS = 1_200


def run(requests: int | None = None) -> dict:
    total = requests or int(os.environ.get("BENCH_RATE_LIMIT_REQUESTS", DEFAULT_REQUESTS))
    prefix = f"bench:limits:{uuid.uuid4().hex}"
    redis_client = connect(settings.REDIS_URL)
    simulator = start_simulator_process()
    try:
        url = f"{simulator.base_url}/export.aspx?type=CSV&report={SUMMARY}"
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        start = context.Event()
        workers = [
            context.Process(target=_worker, args=(prefix, url, total, start, results))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        time.sleep(1.0)  # every thread has opened its connection
        started = time.monotonic()
        start.set()
        outcomes: dict[str, int] = {}
        for _ in workers:
            for status, count in results.get(timeout=total / 10 + 120).items():
                outcomes[status] = outcomes.get(status, 0) + count
        wall = time.monotonic() - started
        for worker in workers:
            worker.join(timeout=30)
        arrivals = sorted(entry["time"] for entry in simulator.requests())
    finally:
        simulator.stop()
        keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            redis_client.delete(*keys)
    rate = LIMITS.max_requests / (LIMITS.window_ms / 1000)
    return {
        "requests": total,
        "requests_at_site": len(arrivals),
        "outcomes": outcomes,
        "rate_per_s": rate,
        "wall_s": round(wall, 3),
        "utilization_ratio": round(wall / (total / rate), 4),
        # The first window's burst is free; this is the ratio once the window is full.
        "steady_state_ratio": round(wall / (max(1, total - LIMITS.max_requests) / rate), 4),
        "violations": _window_violations(arrivals, tolerance=0.0),
        "violations_10ms_tolerance": _window_violations(arrivals, tolerance=0.010),
        "shortest_span_of_21_arrivals_s": _shortest_span(arrivals),
        "max_in_any_window": _max_in_window(arrivals),
    }


def _worker(prefix, url, total, start, results) -> None:
    client_redis = connect(settings.REDIS_URL)
    guard = DashboardGuard(
        limiter=RateLimiter(
            client_redis, key_prefix=f"{prefix}:ratelimit", settings_provider=lambda: LIMITS
        ),
        breaker=CircuitBreaker(client_redis, key_prefix=f"{prefix}:breaker"),
        cache=None,
    )
    counter = f"{prefix}:issued"
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def run_thread() -> None:
        client = DashboardClient(
            base_url=url.split("/export.aspx")[0],
            before_request=guard.before_request,
            after_response=guard.after_response,
            max_attempts=1,
        )
        client.session.get(f"{client.base_url}/_simulator/health", timeout=5)
        start.wait()
        with client:
            while client_redis.incr(counter) <= total:
                try:
                    client.get(url)
                    status = "200"
                except DashboardError as exc:
                    status = str(exc.status_code or exc.error_type)
                with lock:
                    outcomes[status] = outcomes.get(status, 0) + 1

    threads = [threading.Thread(target=run_thread) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(outcomes)


def _window_violations(arrivals: list[float], *, tolerance: float) -> int:
    """Arrivals that make more than max_requests within one window (less `tolerance` of
    arrival jitter)."""
    n, window = LIMITS.max_requests, LIMITS.window_ms / 1000
    spans = zip(arrivals, arrivals[n:], strict=False)
    return sum(1 for a, b in spans if b - a < window - tolerance)


def _shortest_span(arrivals: list[float]) -> float | None:
    """The shortest time holding max_requests + 1 arrivals (at least the window when polite)."""
    n = LIMITS.max_requests
    spans = [b - a for a, b in zip(arrivals, arrivals[n:], strict=False)]
    return round(min(spans), 4) if spans else None


def _max_in_window(arrivals: list[float]) -> int:
    window = LIMITS.window_ms / 1000
    most, first = 0, 0
    for last, moment in enumerate(arrivals):
        while moment - arrivals[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most
