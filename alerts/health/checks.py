"""Readiness: can this deployment do its work now? Each check answers ok or not, with why and
how long it took; `/readyz` and `manage.py check_health` report them.

database and redis: a round trip. store: the snapshot store takes writes (the condition the
10 s check keeps in Redis, `snapshots.store.condition`) and, on a filesystem, has at least
HEALTH_STORE_MIN_FREE_RATIO of its disk free. workers: at least one worker's heartbeat is
fresh. beat: beat sent a task (its 10 s reclaim) recently.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection

from backfill_project import heartbeat
from snapshots.store.condition import store_condition


class Unready(Exception):
    """A check's failure, with the reason an operator reads."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    reason: str

    def as_dict(self) -> dict:
        return {**asdict(self), "latency_ms": round(self.latency_ms, 1)}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} answered"


def check_redis() -> str:
    heartbeat.client().ping()
    return "Redis answered"


def check_store() -> str:
    condition = store_condition()
    if condition is not None:
        raise Unready(condition.sentence)
    if settings.SNAPSHOT_STORAGE != "filesystem":
        return "the bucket takes writes (no condition recorded)"
    usage = shutil.disk_usage(settings.SNAPSHOT_ROOT)
    ratio = usage.free / usage.total
    if ratio < settings.HEALTH_STORE_MIN_FREE_RATIO:
        raise Unready(
            f"{settings.SNAPSHOT_ROOT} has {ratio:.1%} free, under HEALTH_STORE_MIN_FREE_RATIO "
            f"({settings.HEALTH_STORE_MIN_FREE_RATIO:.0%})"
        )
    return f"takes writes, {ratio:.0%} free ({usage.free // 2**20} MiB)"


def check_workers() -> str:
    beats = heartbeat.read()
    live = beats.live_workers()
    if live:
        return f"{len(live)} worker(s) alive, newest heartbeat {live[0].age:.0f} s ago"
    silence = beats.worker_silence()
    if silence is None:
        raise Unready("no worker has sent a heartbeat in the last day")
    raise Unready(f"no worker has answered for {heartbeat.describe_age(silence)}")


def check_beat() -> str:
    beats = heartbeat.read()
    if beats.beat_alive():
        return f"beat sent a task {beats.beat.age:.0f} s ago"
    if beats.beat is None:
        raise Unready("beat has not sent a task in the last day")
    raise Unready(f"beat has not sent a task for {heartbeat.describe_age(beats.beat.age)}")


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "store": check_store,
    "workers": check_workers,
    "beat": check_beat,
}


def run_checks(names: list[str] | None = None) -> list[CheckResult]:
    """Run the named checks (all by default) and report each; raises KeyError naming an
    unknown check."""
    selected = names or list(CHECKS)
    unknown = [name for name in selected if name not in CHECKS]
    if unknown:
        raise KeyError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    return [_run(name, CHECKS[name]) for name in selected]


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        reason, ok = check(), True
    except Unready as exc:
        reason, ok = str(exc), False
    except Exception as exc:  # a probe's failure is the answer, whatever raised it
        reason, ok = f"{exc.__class__.__name__}: {exc}", False
    return CheckResult(name, ok, (time.perf_counter() - started) * 1000, reason)
