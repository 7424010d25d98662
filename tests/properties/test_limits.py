"""Properties 9 and 10: concurrency slots and the rate limit under generated load and timing.

Property 9 runs generated jobs with several worker threads that take the broker's messages
(`engine`) and run them through the Celery tasks, so dispatch, claims and unit ends race as in
several worker processes (real PostgreSQL, Redis, simulator over HTTP). Property 10 sends
generated bursts of requests from several threads through the real Redis limiter, on its own
keys, and checks the grant times Redis recorded (its own clock).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backfill import limits
from backfill.contracts import backfill_request
from backfill.limits import LimitSettings, RateLimiter, get_redis
from backfill.models import TERMINAL_JOB_STATUSES, BackfillJob, RateLimitConfig
from backfill.services import collecting, dispatch, jobs
from tests.properties.conftest import COLLECTABLE_DATES, DISTRICT_POOL, fresh_store, reset_limits

pytestmark = pytest.mark.properties

SETTINGS = hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- Property 9 -------------------------------------------------------------------------------

COLLECT = collecting.collect


class InFlight:
    """Counts the units whose collection is running right now, in total and per job, and keeps
    the highest counts seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.total = 0
        self.peak_total = 0
        self.peak: Counter[str] = Counter()

    def enter(self, job_id: str) -> None:
        with self.lock:
            self.now[job_id] += 1
            self.total += 1
            self.peak_total = max(self.peak_total, self.total)
            self.peak[job_id] = max(self.peak[job_id], self.now[job_id])

    def leave(self, job_id: str) -> None:
        with self.lock:
            self.now[job_id] -= 1
            self.total -= 1


job_specs = st.lists(
    st.tuples(
        st.integers(1, 4),  # the job's concurrency
        st.sampled_from(["low", "normal", "urgent"]),
        st.lists(st.sampled_from(DISTRICT_POOL), min_size=1, max_size=3, unique=True),
        st.sampled_from(COLLECTABLE_DATES[:2]),  # jobs may share a date
        st.integers(0, 15),  # milliseconds each unit holds its slot beyond its collection
    ),
    min_size=1,
    max_size=3,
)


@SETTINGS
@given(
    specs=job_specs,
    max_concurrent=st.integers(1, 4),
    max_active_jobs=st.integers(1, 3),
    workers=st.integers(1, 5),
)
@pytest.mark.django_db(transaction=True)
def test_units_in_flight_never_exceed_the_concurrency_limits(
    engine, settings, monkeypatch, specs, max_concurrent, max_active_jobs, workers
):
    """Feature: unified-backfill-service, Property 9: Concurrent Processing Limits

    For any set of jobs (concurrency 1-4, any priority, shared or separate dates) run by 1-5
    worker threads under any global `maxConcurrent` (1-4) and number of active jobs, the units
    collecting at the same moment never exceed a job's concurrency, nor `maxConcurrent` in total
    beyond the one unit each running priority job may start past it (README *Daily runs
    first*); every job still finishes."""
    settings.BACKFILL_MAX_ACTIVE_JOBS = max_active_jobs
    config = engine_config(max_concurrent)
    in_flight = InFlight()
    holds: dict[str, float] = {}
    collect = COLLECT  # the engine's own, not an earlier example's counting wrapper

    def counted(unit, job, client, stop):
        in_flight.enter(str(job.pk))
        try:
            time.sleep(holds[str(job.pk)])
            return collect(unit, job, client, stop)
        finally:
            in_flight.leave(str(job.pk))

    monkeypatch.setattr(collecting, "collect", counted)
    with fresh_store():
        reset_limits()
        BackfillJob.objects.all().delete()  # an earlier example's jobs must not hold the queue
        created = []
        for concurrency, priority, districts, day, hold in specs:
            request = {
                "startDate": day.isoformat(),
                "targetDistricts": districts,
                "collectionType": "per-district",
                "concurrency": concurrency,
                "priority": priority,
            }
            job = jobs.create_job(request=backfill_request(request))
            holds[str(job.pk)] = hold / 1000
            created.append(job)
        run_with_workers(engine, workers, [job.pk for job in created])
        urgent = 0
        for job in created:
            job.refresh_from_db()
            assert job.status in TERMINAL_JOB_STATUSES, (
                [
                    (j.status, j.priority, j.start_date, j.concurrency, j.total_units)
                    for j in BackfillJob.objects.order_by("created_at")
                ],
                max_active_jobs,
            )
            assert in_flight.peak[str(job.pk)] <= job.concurrency
            urgent += job.is_priority
        assert in_flight.peak_total <= config.max_concurrent + urgent
        assert in_flight.total == 0


def engine_config(max_concurrent: int) -> RateLimitConfig:
    """Set the global `maxConcurrent` (workers pick it up at once in this process)."""
    config = RateLimitConfig.load()
    config.max_concurrent = max_concurrent
    config.save()
    limits.clear_settings_cache()
    return config


def run_with_workers(engine, workers: int, job_ids: list, timeout: float = 60) -> None:
    """Worker threads take the queued messages until every job has ended."""
    dispatch.start_queued_jobs()
    done = threading.Event()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while not done.is_set():
                message = engine.pop()
                if message is None:
                    time.sleep(0.002)
                    continue
                engine.run(*message)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
            done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done.is_set():
            ended = BackfillJob.objects.filter(
                pk__in=job_ids, status__in=TERMINAL_JOB_STATUSES
            ).count()
            if ended == len(job_ids) and not engine.messages:
                break
            time.sleep(0.01)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert not failures, failures


# --- Property 10 ------------------------------------------------------------------------------

bursts = st.lists(
    st.lists(
        st.tuples(st.integers(0, 30), st.booleans()),  # (pause before it in ms, priority)
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(
    threads=bursts,
    max_requests=st.integers(1, 6),
    window_ms=st.integers(40, 150),
    min_delay_ms=st.integers(0, 25),
    reserved_share=st.sampled_from([0.0, 0.2, 0.5]),
    priority_job_present=st.booleans(),
)
def test_requests_never_exceed_the_window_nor_the_spacing(
    threads, max_requests, window_ms, min_delay_ms, reserved_share, priority_job_present
):
    """Feature: unified-backfill-service, Property 10: Rate Limiting Protection

    For any burst of requests from 1-4 threads (generated pauses, priority or not) through the
    global Redis limiter under any configuration, the grants Redis records are never closer
    than the minimum delay, never more than `maxRequests` in any window, and a non-priority
    request never takes the share of the window reserved for priority jobs while a priority
    job is queued or in flight (the reserve is lent to the others while none is)."""
    limits_ = LimitSettings(
        max_requests=max_requests,
        window_ms=window_ms,
        min_delay_ms=min_delay_ms,
        max_delay_ms=max(min_delay_ms, 1),
    )
    prefix = f"properties-rl:{uuid.uuid4().hex}"
    limiter = RateLimiter(
        get_redis(),
        key_prefix=prefix,
        settings_provider=lambda: limits_,
        reserved_share=reserved_share,
        priority_present=lambda: priority_job_present,
    )
    grants: list[tuple[float, bool]] = []
    lock = threading.Lock()

    def send(requests: list[tuple[int, bool]]) -> None:
        for pause_ms, priority in requests:
            time.sleep(pause_ms / 1000)
            limiter.acquire(priority=priority, timeout_s=30)
            with lock:
                grants.append((limiter.last_grant_at, priority))

    workers = [threading.Thread(target=send, args=(requests,)) for requests in threads]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        limiter.clear()
    assert len(grants) == sum(len(requests) for requests in threads)
    grants.sort()
    window = timedelta(milliseconds=window_ms).total_seconds()
    cap = max(1, max_requests - limiter.held_back(limits_, priority=False))
    assert limiter.held_back(limits_, priority=False) == (
        limiter.reserved_for_priority(limits_) if priority_job_present else 0
    )
    for i, (at, priority) in enumerate(grants):
        before = [t for t, _ in grants[:i] if t > at - window]
        assert len(before) < max_requests, (grants, i)
        if not priority:
            assert len(before) < cap, (grants, i)
        if i:
            assert at - grants[i - 1][0] >= min_delay_ms / 1000 - 1e-6, (grants, i)
