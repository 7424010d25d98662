"""Daily runs first, end to end: a real worker, PostgreSQL, Redis and the simulator over HTTP.

A long paced backfill runs; the daily refresh is created (as beat's gap fill creates it) for the
very date the backfill is collecting. The daily job starts within one rate-limit window, takes
the slots the backfill leaves, never collects that date beside the backfill, and finishes; the
backfill then continues where it was.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import (
    TERMINAL_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    CreatedVia,
    JobPriority,
    JobStatus,
    RateLimitConfig,
    RunKind,
    UnitStatus,
)
from backfill.services import actions, jobs
from tests.fixtures.backfill import Worker

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW_MS = 15_000
DISTRICTS = ["42", "61", "F"]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def refreshed(job: BackfillJob) -> BackfillJob:
    job.refresh_from_db()
    return job


def overlap(a: BackfillUnit, b: BackfillUnit) -> bool:
    return a.started_at < b.finished_at and b.started_at < a.finished_at


@pytest.mark.timeout(420)
def test_a_daily_job_created_during_a_long_backfill_runs_first_and_the_backfill_continues(
    backfill_env, tmp_path, simulator, capsys
):
    config = RateLimitConfig.load()
    # Paced: 30 requests per 15 s (24 for normal jobs, 6 reserved), 150 ms apart, 2 slots.
    config.max_requests, config.window_ms, config.min_delay_ms = 30, WINDOW_MS, 150
    config.max_delay_ms, config.max_concurrent = 1_000, 2
    config.save()
    simulator.set_faults(latency_ms=50)
    worker = Worker(env=backfill_env, log_path=tmp_path / "worker.log", concurrency=4)
    worker.start()
    try:
        long = jobs.create_job(
            request=backfill_request(
                {
                    "startDate": "2025-03-11",
                    "endDate": "2025-04-10",
                    "targetDistricts": DISTRICTS,
                    "concurrency": 2,
                    "skipExisting": False,
                }
            )
        )
        assert long.total_units == 93 and long.priority == JobPriority.NORMAL
        wait_until(lambda: refreshed(long).succeeded_units >= 4, 120, "the backfill progresses")
        # The date the backfill is collecting right now.
        day = wait_until(
            lambda: (
                long.units.filter(status=UnitStatus.RUNNING)
                .values_list("logical_date", flat=True)
                .first()
            ),
            60,
            "a backfill unit in flight",
        )
        created_at = timezone.now()
        daily = jobs.create_job(
            request=dataclasses.replace(
                backfill_request(
                    {
                        "startDate": day.isoformat(),
                        "targetDistricts": DISTRICTS,
                        "skipExisting": False,
                    }
                ),
                priority=JobPriority.DAILY.label,
            ),
            created_via=CreatedVia.BEAT,
            run_kind=RunKind.DAILY_REFRESH,
        )
        wait_until(lambda: refreshed(daily).status in TERMINAL_JOB_STATUSES, 180, "daily ends")
        long.refresh_from_db()
        assert long.status == JobStatus.RUNNING  # the backfill is still running...
        succeeded_at_daily_end = long.succeeded_units
        assert succeeded_at_daily_end < long.total_units
        # ...and continues where it was.
        wait_until(
            lambda: refreshed(long).succeeded_units >= succeeded_at_daily_end + 3,
            120,
            "the backfill continues after the daily job",
        )
        actions.cancel_job(job=long)
        wait_until(lambda: refreshed(long).status in TERMINAL_JOB_STATUSES, 60, "cancel ends")
    finally:
        worker.stop()

    assert daily.status == JobStatus.COMPLETED, daily.error_summary
    assert daily.succeeded_units == 3 and daily.failed_units == 0
    assert daily.priority_label == "daily" and daily.run_kind == RunKind.DAILY_REFRESH
    assert long.status == JobStatus.CANCELLED and long.failed_units == 0

    daily_units = list(daily.units.order_by("started_at"))
    long_units = list(long.units.exclude(started_at=None).order_by("started_at"))
    first_daily, last_daily = daily_units[0].started_at, daily_units[-1].started_at
    started_in = (first_daily - created_at).total_seconds()
    # 1. It starts its units within one rate-limit window (on its date once the backfill's
    #    units of that date have ended).
    assert started_in < WINDOW_MS / 1000
    # 2. From its first unit to its last, every slot that freed went to it: no backfill unit
    #    was dispatched in between.
    dispatched_between = [u for u in long_units if first_daily < u.started_at < last_daily]
    assert dispatched_between == []
    # 3. The date was never collected by both jobs at once.
    same_date = [u for u in long_units if u.logical_date == day and u.finished_at]
    assert same_date, "the backfill had units of the date"
    assert not any(overlap(a, b) for a in same_date for b in daily_units)
    # 4. The backfill went on after the daily job ended.
    after = [u for u in long_units if u.started_at > daily.finished_at]
    assert after and all(u.logical_date >= day for u in after)

    with capsys.disabled():
        print(
            "\ndaily-first report: "
            + json.dumps(
                {
                    "dailyDate": day.isoformat(),
                    "secondsToFirstDailyUnit": round(started_in, 2),
                    "dailySeconds": round((daily.finished_at - created_at).total_seconds(), 2),
                    "backfillUnitsSucceeded": long.succeeded_units,
                    "backfillUnitsDispatchedAfterDaily": len(after),
                }
            )
        )
