"""`make bench` scaling (issue 13 section 1): how throughput grows with worker processes and slots.

Three tables, one row per size:

- **archive**: a per-district archive re-normalization (`source: archive`, `reprocess: all`) of
  `days` x `districts` units (365 x 120 = 43,800 by default) over a seeded store;
- **analytics**: an analytics-generation job over the same store (one unit per date for its
  rankings and one per district for its time series: 485 units by default);

  each with 1, 2, 4, 8 and 16 worker processes in total, split over two Celery worker nodes
  with their own node names (`node1@%h`, `node2@%h`: 8 = 4 + 4, 1 = one node with 1), as two
  hosts would run them. Per row: units, units succeeded, seconds, units per second, speed-up
  against 1 process, efficiency (speed-up / processes), the share of time backends wait for a
  database lock (sampled from PostgreSQL, below), and the job's own figure: its units' own
  seconds (`unit_seconds`, from their start and end times) over wall time x processes (how
  busy the pool processes were with units). In the JSON, where the time went: the CPU seconds
  each kind of process spent while the job ran (`cpu_seconds_by`, from /proc: the pool
  processes, the nodes' main processes, PostgreSQL, Redis, the bench, the rest), and the
  seconds from the job's start to its first unit's and from its last unit's end to its own.

- **dashboard**: a per-district collection of `dashboard_units` units (200: 20 dates x 10
  districts) against the simulator with pacing off (the rate-limit row updated past the
  admin's bounds, restored afterwards) and every request delayed by `latency_ms` (200), with
  1..10 slots (job concurrency = slots = worker processes, split over the two nodes the same
  way): seconds, units per second, speed-up, efficiency.

Lock waits are measured by PostgreSQL, not by the code under test: a thread with its own
connection samples `pg_stat_activity` every 50 ms during a run. A client backend of the bench
database other than the sampler and the bench's own connection is *busy* in a sample when it is
in a transaction or running a statement, and *waiting* when it is busy and its `wait_event_type`
is `Lock` (heavyweight locks: row locks, `SELECT ... FOR UPDATE`). `lock_wait_share` is waiting
/ busy samples; `lock_waiters_per_process` is the mean number of waiting backends per worker
process; the statements waited on most (and what their blockers last ran), and those busy
backends ran most (`busy_on`), are in the JSON.

The store is seeded once, as per-district collections would have left it: the simulator's three
reports per district and date rendered in process (no HTTP), archived raw, normalized and
written, and each date's manifest finalized (in a pool of two processes; `seed_seconds` says
what it cost). Dates the simulator serves as a closing period have no data and are not seeded;
the engine plans dates inside a closing period `unavailable` anyway: the rows report units
succeeded beside units.

Store-bound jobs may need more slots than the API accepts (`concurrency` <= 10 in the
contract): when the request refuses the process count, the job is created with the typed
request's `concurrency` raised past the contract (the row says `concurrency_bypassed`), and the
global `max_concurrent` is raised so that slots are never the limit. A store-bound cap setting
(`BACKFILL_STORE_MAX_CONCURRENT`), when settings have one, is raised to the largest process
count for the bench and its workers.

Sizes: `python -m tests.benchmarks scaling` runs the issue's sizes; `--quick` a small
configuration for development; `--days=N --districts=N --processes=1,2,4 --slots=1,4,8
--dashboard-units=N --latency-ms=N --parts=archive,analytics,dashboard --in-flight=N --repeat=N`
pick others (each also as an environment variable, `BENCH_SCALING_DAYS=30` ...,
`BENCH_SCALING_QUICK=1`). `repeat` (3) runs each store-bound row and plain loop that many times
and reports the run of median seconds.

Store-bound tables (issue 23) also give the plain loop (`bench_plain`: the same units by the
project's functions in one process, no Celery, no unit rows; and, when a row has more than one
process, in two processes with a share of the dates each, whose speed-up is the most the
engine's can be at two on this machine) run on the same store in the same run, each row's
seconds over the plain loop's (`/plain`), and the highest peak resident memory of the row's
pool processes (`rss MB`). Their jobs keep `in_flight` (2) units per process in
flight (`--in-flight=1`: one, as the earlier tables did).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import requests
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.limits.connection import get_redis
from backfill.models import TERMINAL_JOB_STATUSES, BackfillJob, JobStatus, RateLimitConfig
from backfill.services import jobs
from backfill.services.planning.request import MAX_CONCURRENCY
from districts.dashboard.collect import accept, district_from
from districts.dashboard.errors import DashboardError
from simulator import generation
from simulator.exports import SimulatedDashboard
from simulator.periods import ProgramYear, last_of_month
from simulator.rendering import render_export
from snapshots import store

from .bench_plain import plain_loop
from .harness import bench_environment, simulator_process, worker_process

STORE_CAP_SETTING = "BACKFILL_STORE_MAX_CONCURRENT"
SAMPLE_SECONDS = 0.05
RUN_TIMEOUT_SECONDS = 3_600
DASHBOARD_DISTRICTS = 10
# Jan 10-29 lie outside any closing period (December closes on Jan 8, January on Feb 10).
DASHBOARD_FIRST_DATE = date(2025, 1, 10)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The bench's sizes; the defaults are issue 13's."""

    start: str = "2024-07-01"  # the first seeded date (the program year's first day)
    days: int = 365
    districts: int = 120
    processes: tuple[int, ...] = (1, 2, 4, 8, 16)
    dashboard_units: int = 200
    slots: tuple[int, ...] = tuple(range(1, 11))
    latency_ms: int = 200
    parts: tuple[str, ...] = ("archive", "analytics", "dashboard")
    # Store-bound jobs: units in flight per worker process (job concurrency = processes x
    # this). 2 keeps one unit's message waiting in each process while it runs the other, so
    # the broker's round trip overlaps the work; 1 gives the earlier tables' setting.
    in_flight: int = 2
    # Store-bound rows and plain loops: runs of each, the one of median seconds reported (the
    # others' seconds beside it): one run of a few seconds on 2 shared cores moves by 20 %.
    repeat: int = 3


# Two weeks outside any closing period (July 1-19 is June's closing period, all unavailable).
QUICK = Sizes(
    start="2024-08-12",
    days=14,
    districts=8,
    processes=(1, 2, 4),
    dashboard_units=20,
    slots=(1, 2, 4),
    repeat=1,
)
PARTS = ("archive", "analytics", "dashboard")


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown parts {sorted(unknown)}; known: {PARTS}")
    return parts


def sizes_from(argv: Sequence[str] = ()) -> Sizes:
    """The sizes given as `--name=value` options, else as `BENCH_SCALING_<NAME>` environment
    variables, else `--quick` / `BENCH_SCALING_QUICK=1`'s, else the issue's."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks scaling")
    env = os.environ.get
    parser.add_argument("--quick", action="store_true", default=env("BENCH_SCALING_QUICK") == "1")
    parser.add_argument("--start", default=env("BENCH_SCALING_START"))
    parser.add_argument("--days", type=int, default=env("BENCH_SCALING_DAYS"))
    parser.add_argument("--districts", type=int, default=env("BENCH_SCALING_DISTRICTS"))
    parser.add_argument("--processes", type=_ints, default=env("BENCH_SCALING_PROCESSES"))
    parser.add_argument("--slots", type=_ints, default=env("BENCH_SCALING_SLOTS"))
    parser.add_argument("--dashboard-units", type=int, default=env("BENCH_SCALING_DASHBOARD_UNITS"))
    parser.add_argument("--latency-ms", type=int, default=env("BENCH_SCALING_LATENCY_MS"))
    parser.add_argument("--parts", type=_parts, default=env("BENCH_SCALING_PARTS"))
    parser.add_argument("--in-flight", type=int, default=env("BENCH_SCALING_IN_FLIGHT"))
    parser.add_argument("--repeat", type=int, default=env("BENCH_SCALING_REPEAT"))
    args = parser.parse_args(list(argv))
    base = QUICK if args.quick else Sizes()
    given = {}
    for field in dataclasses.fields(Sizes):
        value = getattr(args, field.name)
        if value is None:
            continue
        # Environment values arrive as text (argparse converts only the command line's).
        if isinstance(value, str):
            convert = {"processes": _ints, "slots": _ints, "parts": _parts, "start": str}
            value = convert.get(field.name, int)(value)
        given[field.name] = value
    return dataclasses.replace(base, **given)


# --- lock waits, as PostgreSQL sees them -------------------------------------------------------

_ACTIVITY = """
SELECT a.pid, a.state, a.wait_event_type, a.query,
       CASE WHEN a.wait_event_type = 'Lock' THEN (
           SELECT b.state || ': ' || b.query FROM pg_stat_activity b
           WHERE b.pid = (pg_blocking_pids(a.pid))[1] LIMIT 1
       ) END
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid() AND a.pid <> ALL(%s)
  AND (a.state = 'active' OR a.xact_start IS NOT NULL)
"""


class LockSampler:
    """Samples `pg_stat_activity` every SAMPLE_SECONDS in a thread with its own connection,
    counting busy and lock-waiting backends (module docstring)."""

    def __init__(self, exclude: Sequence[int]) -> None:
        self.exclude = list(exclude)
        self.samples = 0
        self.errors = 0
        self.busy = 0
        self.waiting = 0
        self.waited_on: Counter[str] = Counter()
        self.blockers: Counter[str] = Counter()
        self.busy_on: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)

    def __enter__(self) -> LockSampler:
        params = connection.get_connection_params()
        self._conn = psycopg.connect(**params, autocommit=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()

    def _run(self) -> None:
        with self._conn.cursor() as cursor:
            while not self._stop.wait(SAMPLE_SECONDS):
                try:
                    cursor.execute(_ACTIVITY, [self.exclude])
                    activity = cursor.fetchall()
                except psycopg.Error:
                    self.errors += 1  # a sample lost (the view changed under it): the next one
                    continue
                self.samples += 1
                # Only busy backends (in a transaction or running a statement) are read.
                for _pid, state, wait_type, query, blocker in activity:
                    self.busy += 1
                    self.busy_on[f"{state}: {statement(query)}"] += 1
                    if wait_type == "Lock":
                        self.waiting += 1
                        self.waited_on[statement(query)] += 1
                        if blocker:
                            state, _, last = blocker.partition(": ")
                            self.blockers[f"{state}: {statement(last)}"] += 1

    def figures(self, processes: int) -> dict[str, Any]:
        samples = max(self.samples, 1)
        return {
            "lock_wait_share": round(self.waiting / self.busy, 3) if self.busy else 0.0,
            "lock_waiters_per_process": round(self.waiting / samples / processes, 3),
            "busy_backends_mean": round(self.busy / samples, 2),
            "lock_samples": self.samples,
            "lock_samples_lost": self.errors,
            "waited_on": dict(self.waited_on.most_common(3)),
            "blockers_last_ran": dict(self.blockers.most_common(3)),
            "busy_on": dict(self.busy_on.most_common(5)),
        }


def statement(query: str) -> str:
    """A short name of a SQL statement: its verb, first table and row lock
    (`SELECT backfill_ratelimitconfig FOR UPDATE`)."""
    text = query.replace('"', "")
    upper = text.upper()
    verb = text.split(None, 1)[0].upper() if text.strip() else "?"
    table = re.search(r"\b(?:FROM|UPDATE|INTO)\s+([\w.]+)", text, re.IGNORECASE)
    lock = " FOR UPDATE" if "FOR UPDATE" in upper else ""
    lock += " SKIP LOCKED" if "SKIP LOCKED" in upper else ""
    return f"{verb} {table.group(1) if table else ''}{lock}".strip()


def _own_pids() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return [cursor.fetchone()[0]]


# --- workers and jobs --------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def node_split(processes: int) -> list[int]:
    """Pool processes per node: 1 runs on one node, more are split over two (8 = 4 + 4)."""
    if processes <= 1:
        return [processes]
    return [processes - processes // 2, processes // 2]


@contextmanager
def worker_nodes(env: dict[str, str], processes: int) -> Iterator[tuple[list[int], list[int]]]:
    """The nodes' pool sizes and the nodes' main process ids."""
    split = node_split(processes)
    with ExitStack() as stack:
        pids = [
            stack.enter_context(
                worker_process(env, concurrency=pool, hostname=f"node{number}@%h")
            ).pid
            for number, pool in enumerate(split, start=1)
        ]
        # A worker's start-up recovery pings every worker (up to the ping timeout) and would
        # hold the job's first dispatch: the job is measured, not the workers' start.
        time.sleep(settings.BACKFILL_WORKER_PING_TIMEOUT_SECONDS + 1)
        yield split, pids


def _process_cpu() -> dict[int, tuple[str, int, int]]:
    """{pid: (command line, parent pid, user + system clock ticks)} of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (command, int(stat[1]), int(stat[11]) + int(stat[12]))
    return found


def _cpu_by(before, after, node_pids: Sequence[int]) -> dict[str, float]:
    """CPU seconds each kind of process spent between two `_process_cpu` readings: the nodes'
    pool processes and main processes, PostgreSQL, Redis, this bench, the rest."""
    tick = os.sysconf("SC_CLK_TCK")
    spent: Counter[str] = Counter()
    for pid, (command, parent, ticks) in after.items():
        used = ticks - before.get(pid, ("", 0, 0))[2]
        if used <= 0:
            continue
        if pid in node_pids:
            kind = "worker main"
        elif parent in node_pids:
            kind = "worker pool"
        elif pid == os.getpid():
            kind = "bench"
        elif "postgres" in command:
            kind = "postgres"
        elif "redis" in command:
            kind = "redis"
        else:
            kind = command.split(" ", 1)[0].rsplit("/", 1)[-1] or "kernel"
        spent[kind] += used / tick
    return {kind: round(seconds, 2) for kind, seconds in spent.most_common(8)}


def peak_rss_mb(node_pids: Sequence[int]) -> float | None:
    """The highest peak resident memory (VmHWM) of the nodes' pool processes, in MB."""
    peaks = []
    for pid in node_pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peaks.append(int(found.group(1)) / 1024)
    return round(max(peaks), 1) if peaks else None


def _create(request: dict[str, Any], concurrency: int) -> tuple[BackfillJob, bool]:
    """Create the job with `concurrency`; past what the contract accepts, with the typed
    request's concurrency raised (True: bypassed)."""
    try:
        typed = backfill_request({**request, "concurrency": concurrency})
        bypassed = False
    except Exception:
        allowed = min(concurrency, MAX_CONCURRENCY)
        typed = dataclasses.replace(
            backfill_request({**request, "concurrency": allowed}), concurrency=concurrency
        )
        bypassed = True
    return jobs.create_job(request=typed, created_via="cli"), bypassed


def _wait(job: BackfillJob) -> float:
    """Seconds from now (the job created) until `job` ends, by the end its engine stamped
    (`finished_at`, this machine's clock), not by when the poll saw it: the poll reads its
    status every 50 ms (one column, its share of the cores it measures kept small), and would
    add 25 ms on average, more to a 1-second job than to a 7-second one; `job` refreshed."""
    began, began_at = time.perf_counter(), timezone.now()
    status = BackfillJob.objects.filter(pk=job.pk).values_list("status", flat=True)
    while True:
        if status.get() in TERMINAL_JOB_STATUSES:
            seconds = time.perf_counter() - began
            job.refresh_from_db()
            if job.finished_at:
                return min(seconds, (job.finished_at - began_at).total_seconds())
            return seconds
        if time.perf_counter() - began > RUN_TIMEOUT_SECONDS:
            BackfillJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
            raise TimeoutError(f"job {job.pk} not ended after {RUN_TIMEOUT_SECONDS} s")
        time.sleep(0.05)


def run_row(
    env: dict[str, str], request: dict[str, Any], processes: int, in_flight: int = 1
) -> dict[str, Any]:
    """One job on `processes` pool processes over two nodes, `in_flight` units per process
    (job concurrency = processes x in_flight): its figures (the job is deleted afterwards, so
    that a long bench leaves no 400,000 unit rows behind)."""
    with worker_nodes(env, processes) as (split, pids), LockSampler(_own_pids()) as sampler:
        load = os.getloadavg()[0]
        cpu_before = _cpu_times()
        procs_before = _process_cpu()
        job, bypassed = _create(request, processes * in_flight)
        seconds = _wait(job)
        cpu_after = _cpu_times()
        procs_after = _process_cpu()
        peak_rss = peak_rss_mb(pids)
    busy, total = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    timeline = _timeline(job)
    row = {
        "processes": processes,
        "nodes": "+".join(map(str, split)),
        "concurrency": job.concurrency,
        "concurrency_bypassed": bypassed,
        "status": job.status,
        "units": job.total_units,
        "succeeded": job.succeeded_units,
        "unavailable": job.unavailable_units,
        "failed": job.failed_units,
        "seconds": round(seconds, 2),
        "job_seconds": round((job.finished_at - job.started_at).total_seconds(), 2)
        if job.started_at and job.finished_at
        else None,
        "units_per_second": round(job.total_units / seconds, 2),
        "unit_busy_share": round(timeline["unit_seconds"] / (seconds * processes), 3),
        # The whole machine (it is shared): load before the job, CPU busy while it ran.
        "load_before": round(load, 2),
        "machine_cpu_busy": round(busy / total, 3) if total else None,
        "peak_rss_mb": peak_rss,
        **timeline,
        "cpu_seconds_by": _cpu_by(procs_before, procs_after, pids),
        **sampler.figures(processes),
    }
    job.delete()
    return row


def _timeline(job: BackfillJob) -> dict[str, Any]:
    """Where a job's wall time went: its units' own seconds (exact, where `duration_ms`
    truncates each to a millisecond), and, once it ran, the seconds from its start to its first
    unit's and from its last unit's end to its own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(started_at), max(finished_at), "
            "sum(extract(epoch FROM finished_at - started_at)) "
            f"FROM {job.units.model._meta.db_table} WHERE job_id = %s AND started_at IS NOT NULL",
            [job.pk],
        )
        first, last, unit_seconds = cursor.fetchone()
    timeline: dict[str, Any] = {"unit_seconds": round(float(unit_seconds or 0), 2)}
    if first and last and job.started_at and job.finished_at:
        timeline["first_unit_after_s"] = round((first - job.started_at).total_seconds(), 3)
        timeline["finished_after_last_s"] = round((job.finished_at - last).total_seconds(), 3)
    return timeline


def median_run(run: Callable[[], dict[str, Any]], times: int) -> dict[str, Any]:
    """`run` `times` times: the figures of the run of median seconds, with every run's seconds
    (`seconds_runs`)."""
    runs = sorted((run() for _ in range(max(1, times))), key=lambda figures: figures["seconds"])
    return {**runs[len(runs) // 2], "seconds_runs": [figures["seconds"] for figures in runs]}


def with_speedup(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Speed-up against the row with 1 process (or slot) and efficiency (speed-up / count)."""
    base = next((row["units_per_second"] for row in rows if row[key] == 1), None)
    for row in rows:
        speedup = row["units_per_second"] / base if base else None
        row["speedup"] = round(speedup, 2) if speedup else None
        row["efficiency"] = round(speedup / row[key], 2) if speedup else None
    return rows


# --- the seeded store --------------------------------------------------------------------------

_DASHBOARD = SimulatedDashboard()


def _simulated_fetch(request):
    export = _DASHBOARD.export(
        report=request.report,
        district_id=request.district_id,
        month_end=last_of_month(request.data_month),
        as_of=request.as_of,
        program_year=str(ProgramYear.of(request.data_month)),
    )
    data = render_export(export)
    return accept(data, request), data


def _seed_district(args: tuple[date, str]) -> bool:
    """Archive and store one (date, district) as a per-district collection would (run in a
    process pool forked under the bench's settings). False: the simulator serves no data."""
    day, district_id = args
    try:
        collected = district_from(_simulated_fetch, district_id=district_id, logical_date=day)
    except DashboardError:
        return False
    for report, data in collected.raw.items():
        store.archive_raw_csv(
            as_of=collected.as_of, report=report, district_id=district_id, data=data
        )
    store.write_district(logical_date=day, statistics=collected.statistics)
    return True


def seed_per_district(start: date, days: int, districts: int) -> dict[str, Any]:
    """Store `days` dates from `start` for the first `districts` districts of its program year
    (call under the bench environment's settings)."""
    ids = generation.district_ids(ProgramYear.of(start).start)[:districts]
    dates = [start + timedelta(days=i) for i in range(days)]
    began = time.perf_counter()
    seeded = 0
    connections.close_all()  # the pool forks: no connection shared with its processes
    with ProcessPoolExecutor(max_workers=2) as pool:
        for day in dates:
            stored = sum(pool.map(_seed_district, [(day, d) for d in ids], chunksize=8))
            seeded += stored
            if stored:
                store.finalize_snapshot(
                    logical_date=day,
                    collection_strategy="per-district",
                    scope=list(ids),
                    job_id=None,
                    district_errors={},
                )
    return {
        "seed_units": len(dates) * len(ids),
        "seed_stored": seeded,
        "seed_seconds": round(time.perf_counter() - began, 1),
    }


# --- the three tables --------------------------------------------------------------------------


@contextmanager
def _rate_limit(**fields: Any) -> Iterator[None]:
    """Set rate-limit fields past the admin's bounds for the bench; restore them afterwards."""
    config = RateLimitConfig.load()
    saved = {name: getattr(config, name) for name in fields}
    RateLimitConfig.objects.filter(pk=config.pk).update(**fields)
    try:
        yield
    finally:
        RateLimitConfig.objects.filter(pk=config.pk).update(**saved)


@contextmanager
def _store_cap(env: dict[str, str], cap: int) -> Iterator[None]:
    """Raise the store-bound slot cap (when settings have one) to `cap` here and in `env`."""
    if not hasattr(settings, STORE_CAP_SETTING):
        yield
        return
    value = max(cap, getattr(settings, STORE_CAP_SETTING))
    env[STORE_CAP_SETTING] = str(value)
    with override_settings(**{STORE_CAP_SETTING: value}):
        yield


def store_bound(sizes: Sizes, base_url: str) -> dict[str, Any]:
    start = date.fromisoformat(sizes.start)
    ids = generation.district_ids(ProgramYear.of(start).start)[: sizes.districts]
    archive_request = {
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=sizes.days - 1)).isoformat(),
        "targetDistricts": list(ids),
        "collectionType": "per-district",
        "source": "archive",
        "reprocess": "all",
        "updateAnalytics": False,
    }
    analytics_request = {"jobType": "analytics-generation"}
    result: dict[str, Any] = {}
    with bench_environment(base_url) as (env, _root), _store_cap(env, max(sizes.processes)):
        result["seed"] = seed_per_district(start, sizes.days, sizes.districts)
        print(f"   seeded {result['seed']}", flush=True)
        for part, request in (("archive", archive_request), ("analytics", analytics_request)):
            if part not in sizes.parts:
                continue
            plain = median_run(partial(plain_loop, request), sizes.repeat)
            result[f"{part}_plain_loop"] = plain
            print(f"   {part} plain loop {plain}", flush=True)
            if any(processes > 1 for processes in sizes.processes):
                two = median_run(partial(plain_loop, request, processes=2), sizes.repeat)
                result[f"{part}_plain_loop_2"] = two
                print(f"   {part} plain loop x2 {two}", flush=True)
            rows = []
            for processes in sizes.processes:
                rows.append(
                    median_run(
                        partial(run_row, env, request, processes, sizes.in_flight), sizes.repeat
                    )
                )
                rows[-1]["vs_plain"] = round(rows[-1]["seconds"] / plain["seconds"], 2)
                print(f"   {part} {_brief(rows[-1])}", flush=True)
            result[part] = with_speedup(rows, "processes")
    return result


def dashboard_bound(sizes: Sizes, base_url: str) -> list[dict[str, Any]]:
    dates = max(1, sizes.dashboard_units // DASHBOARD_DISTRICTS)
    request = {
        "startDate": DASHBOARD_FIRST_DATE.isoformat(),
        "endDate": (DASHBOARD_FIRST_DATE + timedelta(days=dates - 1)).isoformat(),
        "targetDistricts": [str(n) for n in range(1, DASHBOARD_DISTRICTS + 1)],
        "collectionType": "per-district",
        "reprocess": "all",
        "updateAnalytics": False,
    }
    faults = f"{base_url}/_simulator/faults"
    requests.post(faults, json={"latency_ms": sizes.latency_ms}, timeout=10).raise_for_status()
    rows = []
    try:
        for slots in sizes.slots:
            # A fresh store, queue and limiter state (Redis keys under their own prefix: no
            # cached response, no adaptive delay learnt by the run before) for every row.
            prefix = f"bench-scaling-{uuid.uuid4().hex[:8]}"
            with (
                bench_environment(base_url) as (env, _root),
                override_settings(BACKFILL_LIMITS_KEY_PREFIX=prefix),
            ):
                env["BACKFILL_LIMITS_KEY_PREFIX"] = prefix
                try:
                    row = run_row(env, request, slots)
                finally:
                    redis = get_redis()
                    keys = list(redis.scan_iter(f"{prefix}:*"))
                    if keys:
                        redis.delete(*keys)
            row["slots"] = slots
            rows.append(row)
            print(f"   dashboard {_brief(row)}", flush=True)
    finally:
        requests.delete(faults, timeout=10)
    return with_speedup(rows, "slots")


def _brief(row: dict[str, Any]) -> str:
    return (
        f"{row['processes']:>2} processes ({row['nodes']}): {row['succeeded']}/{row['units']} "
        f"units in {row['seconds']} s, {row['units_per_second']} units/s, "
        f"lock wait share {row['lock_wait_share']}"
    )


TABLE_COLUMNS = (
    ("processes", 9),
    ("nodes", 6),
    ("concurrency", 5),
    ("units", 7),
    ("succeeded", 9),
    ("seconds", 9),
    ("vs_plain", 6),
    ("units_per_second", 9),
    ("speedup", 8),
    ("efficiency", 10),
    ("lock_wait_share", 10),
    ("unit_busy_share", 10),
    ("machine_cpu_busy", 9),
    ("peak_rss_mb", 7),
)
HEADINGS = {
    "concurrency": "conc",
    "vs_plain": "/plain",
    "peak_rss_mb": "rss MB",
    "units_per_second": "units/s",
    "lock_wait_share": "lock wait",
    "unit_busy_share": "unit busy",
    "machine_cpu_busy": "cpu busy",
}


def table(title: str, rows: list[dict[str, Any]], first: str = "processes") -> str:
    columns = [(first, 9), *[c for c in TABLE_COLUMNS if c[0] != "processes"]]
    lines = [title]
    lines.append(" ".join(f"{HEADINGS.get(name, name):>{width}}" for name, width in columns))
    for row in rows:
        lines.append(" ".join(f"{row.get(name)!s:>{width}}" for name, width in columns))
    return "\n".join(lines)


def run(argv: Sequence[str] = ()) -> dict[str, Any]:
    sizes = sizes_from(argv)
    print(f"   sizes {dataclasses.asdict(sizes)}", flush=True)
    cap = max((*sizes.processes, *sizes.slots))
    began = time.perf_counter()
    result: dict[str, Any] = {"sizes": dataclasses.asdict(sizes), "cores": os.cpu_count()}
    with (
        _rate_limit(max_requests=1_000_000, window_ms=1_000, min_delay_ms=0, max_concurrent=cap),
        simulator_process() as base_url,
    ):
        if {"archive", "analytics"} & set(sizes.parts):
            result.update(store_bound(sizes, base_url))
        if "dashboard" in sizes.parts:
            result["dashboard"] = dashboard_bound(sizes, base_url)
    result["bench_seconds"] = round(time.perf_counter() - began, 1)
    units = f"{sizes.days} dates x {sizes.districts} districts, per-district"
    titles = {
        "archive": f"archive re-normalization ({units}, source archive)",
        "analytics": f"analytics generation ({sizes.days} dates, {sizes.districts} districts)",
        "dashboard": (
            f"dashboard-bound collection ({sizes.dashboard_units} per-district units, pacing "
            f"off, +{sizes.latency_ms} ms per request; processes = slots = job concurrency)"
        ),
    }
    for part in PARTS:
        if part in result:
            first = "slots" if part == "dashboard" else "processes"
            print(table(titles[part], result[part], first), flush=True)
            plain = result.get(f"{part}_plain_loop")
            if plain:
                print(
                    f"{'plain loop':>16} {plain['units']:>17} {plain['seconds']:>9} "
                    f"{1.0:>6} {plain['units_per_second']:>9}   (one process, no Celery, "
                    f"no database rows; {plain['cpu_ms_per_unit']} ms CPU per unit, "
                    f"{plain['peak_rss_mb']} MB peak)",
                    flush=True,
                )
            two = result.get(f"{part}_plain_loop_2")
            if plain and two:
                print(
                    f"{'plain loop x2':>16} {two['units']:>17} {two['seconds']:>9} "
                    f"{round(two['seconds'] / plain['seconds'], 2):>6} "
                    f"{two['units_per_second']:>9}  "
                    f"{round(plain['seconds'] / two['seconds'], 2):>8}   (two processes, a "
                    "share of the dates each: what two processes can do here)",
                    flush=True,
                )
    return result
