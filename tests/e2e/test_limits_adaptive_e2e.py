"""Adaptive politeness end to end: a real worker collects from the simulator over HTTP while the
simulator's slow-response fault (`latency_ms`) comes and goes. The limiter's effective minimum
delay rises while the dashboard is slow, no request fails because of it, and it relaxes back to
the configured delay afterwards. The test prints what the limiter did (baseline, peak, the
delay over time)."""

from __future__ import annotations

import itertools
import json
import statistics
import time

import pytest

from backfill import limits
from backfill.contracts import backfill_request
from backfill.limits import config
from backfill.models import TERMINAL_JOB_STATUSES, BackfillJob, JobStatus, RateLimitConfig
from backfill.services import jobs
from tests.fixtures.backfill import Worker

# Latency is what the adaptive limiter reads: other tests loading the machine would read as a
# slow dashboard.
pytestmark = [pytest.mark.timing, pytest.mark.django_db(transaction=True)]

NORMAL_LATENCY_MS = 50
SLOW_LATENCY_MS = 1_500
MAX_DELAY_MS = 2_000


class Recorder:
    """Samples the limiter's adaptive state from Redis, as performanceStatus shows it."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.samples: list[dict] = []

    def sample(self) -> dict:
        state = limits.performance_status()["rateLimiter"]
        adaptive = state["adaptive"] or {}
        row = {
            "t": round(time.monotonic() - self.started, 2),
            "effectiveDelayMs": state["effectiveDelayMs"],
            "state": adaptive.get("state"),
            "recentMs": adaptive.get("recentMs"),
            "baselineMs": adaptive.get("baselineMs"),
            "answers": adaptive.get("answers"),
            "reason": state["delayReason"],
        }
        self.samples.append(row)
        return row

    def until(self, condition, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.sample()
            if condition(row):
                return row
            time.sleep(0.25)
        raise AssertionError(f"not within {timeout} s: {what}; last {self.samples[-3:]}")


def refreshed(job: BackfillJob) -> BackfillJob:
    job.refresh_from_db()
    return job


def gaps(entries: list[dict]) -> list[float]:
    times = sorted(e["time"] for e in entries)
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.timeout(420)
def test_slow_responses_raise_the_delay_without_failures_and_it_recovers(
    backfill_env, tmp_path, simulator, capsys
):
    stored = RateLimitConfig.load()
    stored.max_requests, stored.window_ms, stored.min_delay_ms = 1_000, 1_000, 0
    stored.max_delay_ms, stored.max_concurrent = MAX_DELAY_MS, 2
    stored.save()
    config.clear_settings_cache()
    simulator.set_faults(latency_ms=NORMAL_LATENCY_MS)
    worker = Worker(env=backfill_env, log_path=tmp_path / "worker.log", concurrency=2)
    worker.start()
    recorder = Recorder()
    try:
        job = jobs.create_job(
            request=backfill_request(
                {
                    "startDate": "2025-01-01",
                    "endDate": "2025-03-31",
                    "targetDistricts": ["42"],
                    "concurrency": 2,
                    "skipExisting": False,
                    "enableCaching": False,
                }
            )
        )
        # 1. Normal answers give the baseline.
        normal = recorder.until(lambda r: (r["answers"] or 0) >= 20, 120, "20 answers")
        assert normal["state"] == "normal" and normal["effectiveDelayMs"] == 0
        slow_from = time.time()
        # 2. The dashboard slows down: the delay rises to its maximum.
        simulator.set_faults(latency_ms=SLOW_LATENCY_MS)
        peak = recorder.until(
            lambda r: r["effectiveDelayMs"] >= MAX_DELAY_MS, 90, "the delay at its maximum"
        )
        assert peak["state"] == "slow"
        # 3. It recovers: the delay relaxes, slowly, back to the configured 0 ms.
        recovered_from = time.time()
        simulator.set_faults(latency_ms=NORMAL_LATENCY_MS)
        back = recorder.until(
            lambda r: r["state"] == "normal" and r["effectiveDelayMs"] == 0,
            150,
            "the delay back at the configured minimum",
        )
        assert refreshed(job).status not in TERMINAL_JOB_STATUSES, "the job ended too early"
        deadline = time.monotonic() + 240
        while refreshed(job).status not in TERMINAL_JOB_STATUSES and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.stop()

    # The workers' log says when and why the delay moved.
    log = worker.log()
    assert "adaptive rate limit: normal -> slow" in log
    assert "adaptive rate limit: slow -> relaxing" in log
    assert "adaptive rate limit: relaxing -> normal" in log
    job.refresh_from_db()
    entries = [e for e in simulator.requests() if "export.aspx" in e["path"]]
    # No extra failures: every request answered 200, every unit succeeded at its first attempt.
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.failed_units == 0
    assert {e["status"] for e in entries} == {200}
    assert not job.units.filter(attempts__gt=1).exists()
    # The delay never went beyond max_delay_ms, and it relaxed over several steps.
    assert max(r["effectiveDelayMs"] for r in recorder.samples) == MAX_DELAY_MS
    relaxing = [
        r["effectiveDelayMs"]
        for r in recorder.samples
        if r["t"] >= peak["t"] and r["t"] <= back["t"] and 0 < r["effectiveDelayMs"] < MAX_DELAY_MS
    ]
    assert len(set(relaxing)) >= 5
    # The site saw it: requests further apart while it was slow than before.
    before = [e for e in entries if e["time"] < slow_from]
    during = [e for e in entries if slow_from <= e["time"] < recovered_from]
    after = [e for e in entries if e["time"] > recovered_from + (back["t"] - peak["t"])]
    assert statistics.median(gaps(during)) > 5 * statistics.median(gaps(before))

    series = []
    for row in recorder.samples:
        if not series or row["t"] - series[-1]["t"] >= 2 or row is recorder.samples[-1]:
            series.append({k: row[k] for k in ("t", "effectiveDelayMs", "state", "recentMs")})
    report = {
        "baselineMs": normal["baselineMs"],
        "peakRecentMs": max(r["recentMs"] or 0 for r in recorder.samples),
        "peakEffectiveDelayMs": max(r["effectiveDelayMs"] for r in recorder.samples),
        "secondsToPeak": round(peak["t"] - normal["t"], 1),
        "secondsToRecover": round(back["t"] - peak["t"], 1),
        "distinctRelaxingSteps": len(set(relaxing)),
        "medianGapBetweenRequestsS": {
            "normal": round(statistics.median(gaps(before)), 3),
            "slow": round(statistics.median(gaps(during)), 3),
            "afterRecovery": round(statistics.median(gaps(after)), 3) if len(after) > 2 else None,
        },
        "requests": len(entries),
        "non200": sum(1 for e in entries if e["status"] != 200),
        "units": job.total_units,
        "failedUnits": job.failed_units,
        "delayOverTime": series,
    }
    with capsys.disabled():
        print("\nadaptive limiter report: " + json.dumps(report, indent=1))
    config.clear_settings_cache()
