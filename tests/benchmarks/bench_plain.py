"""The plain loop the engine is measured against (issue 23, "orchestration"): the units the
engine's job would run, done one after the other by the project's own functions in one process,
with no Celery, no unit rows, no leases and no dispatch: the cost of the work itself. The
engine's overhead is its time over this loop's, on the same store in the same run.

- an archive re-normalization unit: the stored file's as-of (`store.read_district`), the three
  archived CSVs read and accepted (`collecting._archived`: the engine's own reader), the
  district normalized (`district_from`) and written (`store.write_district`), the date's
  directory synced once (`store.deferred_directory_syncs`, as a batch of the engine's syncs
  it); after a date's last unit its manifest is rebuilt (`store.finalize_snapshot`), as the
  engine's assembly does;
- an analytics unit: `analytics.generate_rankings` (a date) or `generate_district_series`
  (a district over its program year), each writing its document and its index row.

It runs in a forked process of its own, so that its peak resident memory compares with a
worker's pool process, and freezes what it was forked with (`gc.freeze`), as a pool process does
(backfill_project/celery.py). `processes=2` runs the same units split over two forked processes
(a share of the dates each; analytics units by turns), with nothing between them: the most two
processes can do with this work on this machine, which the engine's speed-up at two processes
is read against.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
import time
from itertools import groupby
from typing import Any

from django.db import connections

from analytics import services as analytics
from backfill.contracts import backfill_request
from backfill.models import UnitStatus
from backfill.services import collecting, planning
from districts.dashboard.collect import district_from
from districts.dashboard.urls import program_year_of
from districts.ids import ALL_DISTRICTS
from snapshots import store


def plain_loop(request: dict[str, Any], processes: int = 1) -> dict[str, Any]:
    """Run the pending units `request` plans in `processes` forked processes (a share each):
    seconds (until the last ends), units, units per second, CPU ms per unit and the highest
    peak resident memory (MB) of those processes."""
    connections.close_all()  # the children open their own
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    began = time.perf_counter()
    children = [
        context.Process(target=_child, args=(request, (share, processes), results))
        for share in range(processes)
    ]
    for child in children:
        child.start()
    parts = [results.get(timeout=3_600) for _ in children]
    seconds = time.perf_counter() - began
    for child in children:
        child.join(timeout=60)
    errors = [part["error"] for part in parts if "error" in part]
    if errors:
        raise RuntimeError(f"plain loop failed: {errors[0]}")
    units = sum(part["units"] for part in parts)
    if processes == 1:
        seconds = parts[0]["seconds"]  # the loop's own time, without the fork
    return {
        "units": units,
        "seconds": round(seconds, 2),
        "units_per_second": round(units / seconds, 2) if seconds else None,
        "cpu_ms_per_unit": round(sum(part["cpu_ms"] for part in parts) / max(units, 1), 1),
        "peak_rss_mb": max(part["peak_rss_mb"] for part in parts),
    }


def _child(request: dict[str, Any], share: tuple[int, int], results) -> None:
    gc.freeze()  # what it was forked with, out of the collector's walks, as in a pool process
    try:
        results.put(_run(request, share))
    except Exception as exc:  # reported to the parent, which raises it
        results.put({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connections.close_all()


def _run(request: dict[str, Any], share: tuple[int, int]) -> dict[str, Any]:
    """This process's `share` (k of n) of the units: every n-th date from the k-th (every
    n-th unit for analytics)."""
    plan = planning.plan(backfill_request(request))
    pending = [unit for unit in plan.units() if unit.status == UnitStatus.PENDING]
    units = sorted((unit.logical_date, unit.district_id) for unit in pending)
    analytics_job = request.get("jobType") == "analytics-generation"
    k, n = share
    began, cpu = time.perf_counter(), time.process_time()
    if analytics_job:
        units = units[k::n]
        for day, district_id in units:
            _analytics_unit(day, district_id)
    else:
        dates = sorted({day for day, _ in units})[k::n]
        units = [unit for unit in units if unit[0] in set(dates)]
        for day, districts in groupby(units, key=lambda unit: unit[0]):
            # A date's directory synced once, as the engine's batch syncs it.
            with store.deferred_directory_syncs():
                for _day, district_id in districts:
                    _renormalize(day, district_id)
            store.finalize_snapshot(
                logical_date=day,
                collection_strategy=plan.collection_strategy,
                scope=list(plan.districts),
                job_id=None,
                district_errors={},
            )
    return {
        "units": len(units),
        "seconds": time.perf_counter() - began,
        "cpu_ms": (time.process_time() - cpu) * 1000,
        # ru_maxrss is in kilobytes on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _renormalize(day, district_id: str) -> None:
    stored = store.read_district(logical_date=day, district_id=district_id)
    collected = district_from(
        collecting._archived(stored.as_of_date if stored else None),
        district_id=district_id,
        logical_date=day,
    )
    store.write_district(logical_date=day, statistics=collected.statistics)


def _analytics_unit(day, district_id: str) -> None:
    try:
        if district_id == ALL_DISTRICTS:
            analytics.generate_rankings(logical_date=day)
        else:
            analytics.generate_district_series(
                district_id=district_id, program_year=program_year_of(day)
            )
    except analytics.NothingToRead:
        pass  # the engine's unit ends `unavailable`: no document, no time
