"""`make bench` import: the site's history imported into an empty store (website.importing):
N dates x 120 districts of the simulator's data laid out as the site's tree in a directory,
then imported in this process. Seconds, district files per second, objects written per second
(each district: its file and three archived CSVs; each date: its manifest), and a check that
the imported figures are those a collection of the same CSVs gives.

Building the tree (the simulator's exports rendered, turned into the site's files) is not
timed; nothing reaches a dashboard (there is no client in the import).

With `BENCH_YEAR=1` the site is the program year of `year_store` as published to a directory
(kept by the publish bench, else published once and kept), imported into an empty store
beside it; the check compares an imported district file with the seeded one.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from districts.dashboard.closing import closing_period_month
from districts.dashboard.collect import accept, district_from
from simulator import SimulatedDashboard
from snapshots import store
from snapshots.models import Snapshot
from tests.fixtures.site_tree import simulated_exports, site_district_file, write_site_date
from website.importing import import_site

from . import year_store
from .harness import peak_rss_mib

FIRST_DAY = date(2024, 9, 12)  # program year 2024-2025, after August's closing period


def _ordinary_days(count: int) -> list[date]:
    """`count` days from FIRST_DAY that lie in no closing period (the site has none of those)."""
    days, day = [], FIRST_DAY
    while len(days) < count:
        if closing_period_month(day) is None:
            days.append(day)
        day += timedelta(days=1)
    return days


def _build_site(root: Path, days: list[date], districts: list[str]) -> dict:
    """The site's tree under `root`; how long building it took."""
    started = time.perf_counter()
    for day in days:
        files = {d: site_district_file(d, day, simulated_exports(d, day)) for d in districts}
        write_site_date(root, day, files)
    return {"build_seconds": round(time.perf_counter() - started, 2)}


def _same_as_collected(day: date, district_id: str) -> bool:
    exports = simulated_exports(district_id, day)
    expected = district_from(
        lambda request: (accept(exports[request.report], request), exports[request.report]),
        district_id=district_id,
        logical_date=day,
    )
    return store.read_district(logical_date=day, district_id=district_id) == expected.statistics


def _timed_import(site: Path) -> dict:
    started = time.perf_counter()
    outcomes = import_site(f"file://{site}")
    seconds = time.perf_counter() - started
    stored = sum(len(o.stored) for _, o in outcomes)
    objects = stored * 4 + len(outcomes)
    return {
        "seconds": round(seconds, 2),
        "district_files": stored,
        "refused": sum(len(o.refused) for _, o in outcomes),
        "district_files_per_second": round(stored / seconds),
        "ms_per_district_file": round(1000 * seconds / max(stored, 1), 1),
        "objects_written": objects,
        "objects_per_second": round(objects / seconds),
        "peak_rss_mib": peak_rss_mib(),
    }


def run_year() -> dict:
    spec = year_store.YearSpec.from_environment()
    result = year_store.described(year_store.seed(spec))
    started = time.perf_counter()
    site = year_store.site(spec)
    result["site_ready_seconds"] = round(time.perf_counter() - started, 1)
    day, district_id = spec.dates()[-1], spec.district_ids()[-1]
    with year_store.snapshot_root(spec.store_root):
        seeded = store.read_district(logical_date=day, district_id=district_id)
    with (
        tempfile.TemporaryDirectory(prefix="import-", dir=spec.directory) as scratch,
        year_store.snapshot_root(Path(scratch)),
        year_store.index_kept(spec.dates()),
    ):
        result.update(_timed_import(site))
        imported = store.read_district(logical_date=day, district_id=district_id)
        result["same_as_seeded"] = imported == seeded
    return result


def run(days: int = 10, districts: int = 120) -> dict:
    if year_store.enabled():
        return run_year()
    dates = _ordinary_days(days)
    ids = SimulatedDashboard().districts_for("2024-2025")[:districts]
    indexed_before = set(Snapshot.objects.values_list("logical_date", flat=True))
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        site, root = Path(scratch) / "site", Path(scratch) / "store"
        root.mkdir()
        result = {"dates": days, "districts": len(ids), **_build_site(site, dates, ids)}
        with year_store.snapshot_root(root):
            result.update(_timed_import(site))
            result["same_as_collected"] = _same_as_collected(dates[-1], ids[-1])
    Snapshot.objects.filter(logical_date__in=set(dates) - indexed_before).delete()
    return result
