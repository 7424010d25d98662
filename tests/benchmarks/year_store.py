"""A program year x 120 districts in full detail, seeded once and reused by the benches.

`BENCH_YEAR=1` makes the publish, import, archive and analytics benches run on it. The store
lies under `BENCH_YEAR_DIR` (default `var/bench/` in the checkout), in a directory named by
what it holds (`year-2024-07-01-365d-120x-seed0/`), as a per-district collection leaves it
(tests.website.stored.store_day): each date's three per-district reports archived raw and
normalized into district files, the all-districts summary archived, the date's manifest.
`COMPLETE.json` marks a finished seed; an interrupted one resumes at the first date without a
manifest. Seed ahead of the benches with `python -m tests.benchmarks year_seed` (under `nice`).

Of a program year's 365 dates, those lying in a closing period (after a month ends, up to its
closing date) have no data of their own: the dashboard serves the month before, stored under
its last day. A collection skips them, and so does the seed (about 123 of 365), so a program
year holds about 242 dates x 120 district files.

Only the files are kept: the `Snapshot` index rows the benches need are written from the
manifests (`indexed`), and the database's rows of those dates are put back afterwards. Benches
that write (re-normalizing, analytics, import) work on `working_copy`, a hard-linked copy:
the store replaces a file by renaming a new one over it, so the seeded files never change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.test import override_settings

from districts.dashboard.closing import closing_period_month
from simulator.exports import SimulatedDashboard
from snapshots import store
from snapshots.models import Snapshot
from tests.website.stored import store_day

ROOT = Path(__file__).resolve().parents[2]
MARKER = "COMPLETE.json"
PROCESSES = 2


@dataclass(frozen=True)
class YearSpec:
    start: date = date(2024, 7, 1)
    days: int = 365
    districts: int = 120
    seed: int = 0

    @classmethod
    def from_environment(cls) -> YearSpec:
        """The spec `BENCH_YEAR_START`, `_DAYS`, `_DISTRICTS` and `_SEED` name (defaults: a
        program year from 2024-07-01, 120 districts, seed 0)."""
        return cls(
            start=date.fromisoformat(os.environ.get("BENCH_YEAR_START", "2024-07-01")),
            days=int(os.environ.get("BENCH_YEAR_DAYS", "365")),
            districts=int(os.environ.get("BENCH_YEAR_DISTRICTS", "120")),
            seed=int(os.environ.get("BENCH_YEAR_SEED", "0")),
        )

    @property
    def name(self) -> str:
        return f"year-{self.start}-{self.days}d-{self.districts}x-seed{self.seed}"

    @property
    def directory(self) -> Path:
        return Path(os.environ.get("BENCH_YEAR_DIR") or ROOT / "var" / "bench") / self.name

    @property
    def store_root(self) -> Path:
        return self.directory / "store"

    def district_ids(self) -> list[str]:
        dashboard = SimulatedDashboard(seed=self.seed)
        year = f"{self.start.year}-{self.start.year + 1}" if self.start.month >= 7 else None
        year = year or f"{self.start.year - 1}-{self.start.year}"
        return dashboard.districts_for(year)[: self.districts]

    def calendar_dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def dates(self) -> list[date]:
        """The dates with data of their own (none in a closing period)."""
        return [day for day in self.calendar_dates() if closing_period_month(day) is None]


def enabled() -> bool:
    return os.environ.get("BENCH_YEAR", "") not in ("", "0")


@contextmanager
def snapshot_root(root: Path) -> Iterator[Path]:
    """The `snapshots` storage and SNAPSHOT_ROOT pointed at `root`."""
    storages = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    with override_settings(SNAPSHOT_ROOT=root, STORAGES=storages):
        yield root


@contextmanager
def index_kept(dates: list[date]) -> Iterator[None]:
    """Put the `Snapshot` rows of `dates` back as they were on leaving (the benches' rows go)."""
    saved = list(Snapshot.objects.filter(logical_date__in=dates))
    try:
        yield
    finally:
        Snapshot.objects.filter(logical_date__in=dates).delete()
        Snapshot.objects.bulk_create(saved)


def _seed_date(args: tuple[date, tuple[str, ...], int]) -> tuple[date, float]:
    day, ids, seed = args
    began = time.perf_counter()
    store_day(day, ids, seed=seed, dashboard=_dashboard(seed))
    return day, time.perf_counter() - began


_DASHBOARDS: dict[int, SimulatedDashboard] = {}


def _dashboard(seed: int) -> SimulatedDashboard:
    """One simulated dashboard per process and seed (not one per date)."""
    if seed not in _DASHBOARDS:
        _DASHBOARDS[seed] = SimulatedDashboard(seed=seed)
    return _DASHBOARDS[seed]


def _du_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


def seed(spec: YearSpec | None = None, *, processes: int = PROCESSES) -> dict:
    """Seed the store `spec` names unless it is complete; what it holds (from the marker)."""
    spec = spec or YearSpec.from_environment()
    marker = spec.directory / MARKER
    if marker.exists():
        if is_current(spec):
            return {**json.loads(marker.read_text()), "reused": True}
        # Seeded by code that collects other bytes than today's: seeded again.
        print(f"   {spec.directory} was seeded by other code: seeding it again", flush=True)
        shutil.rmtree(spec.directory)
    spec.store_root.mkdir(parents=True, exist_ok=True)
    dates = spec.dates()
    todo = [d for d in dates if not (spec.store_root / d.isoformat() / "manifest.json").exists()]
    ids = tuple(spec.district_ids())
    began = time.perf_counter()
    work = [(d, ids, spec.seed) for d in todo]
    with snapshot_root(spec.store_root), index_kept(dates), ExitStack() as stack:
        if processes > 1:
            connections.close_all()  # the pool forks: no connection shared with its processes
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=processes))
            seeded = pool.map(_seed_date, work)
        else:
            seeded = map(_seed_date, work)
        for done, (day, seconds) in enumerate(seeded, start=1):
            print(f"   seeded {day} in {seconds:.1f} s ({done}/{len(todo)})", flush=True)
    summary = {
        "name": spec.name,
        "calendar_dates": spec.days,
        "dates": len(dates),
        "districts": len(ids),
        "district_files": len(dates) * len(ids),
        "seed_seconds_this_run": round(time.perf_counter() - began, 1),
        "seeded_dates_this_run": len(todo),
        "bytes": _du_bytes(spec.store_root),
    }
    marker.write_text(json.dumps(summary, indent=2))
    return {**summary, "reused": False}


def is_current(spec: YearSpec) -> bool:
    """True when today's code stores the seeded bytes: the first date's first district (its
    district file and its archived reports) seeded again aside compares equal."""
    day, district_id = spec.dates()[0], spec.district_ids()[0]
    with tempfile.TemporaryDirectory(prefix="year-check-", dir=spec.directory) as scratch:
        fresh = Path(scratch)
        with snapshot_root(fresh), index_kept([day]):
            store_day(day, [district_id], seed=spec.seed)
        names = [
            path.relative_to(fresh)
            for path in fresh.rglob("*")
            if path.is_file() and path.name != "manifest.json" and not path.name.startswith(".")
        ]
        return bool(names) and all(
            (spec.store_root / name).is_file()
            and (spec.store_root / name).read_bytes() == (fresh / name).read_bytes()
            for name in names
        )


def indexed(spec: YearSpec) -> None:
    """Write the `Snapshot` row of every seeded date from its manifest (inside `snapshot_root`
    and `index_kept`)."""
    for day in spec.dates():
        store.reindex(logical_date=day)


@contextmanager
def working_copy(spec: YearSpec, scratch: Path) -> Iterator[Path]:
    """A hard-linked copy of the seeded store under `scratch`, removed on leaving."""
    copy = scratch / "store"
    subprocess.run(["cp", "-al", str(spec.store_root), str(copy)], check=True)
    try:
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run() -> dict:
    """`python -m tests.benchmarks year_seed`: seed (or find) the program-year store."""
    spec = YearSpec.from_environment()
    return {"directory": str(spec.directory), **seed(spec)}


def described(seeded: dict) -> dict:
    """The figures of the seeded store a year bench prints first."""
    return {
        "store": seeded["name"],
        "store_reused": seeded["reused"],
        "store_calendar_dates": seeded["calendar_dates"],
        "store_dates": seeded["dates"],
        "store_districts": seeded["districts"],
        "store_district_files": seeded["district_files"],
        "store_bytes": seeded["bytes"],
    }


def site_directory(spec: YearSpec) -> Path:
    return spec.directory / "site"


def keep_site(spec: YearSpec, published: Path) -> None:
    """Keep `published` (the store's tree as published to a directory) as the site the import
    bench reads, unless one is kept already."""
    site = site_directory(spec)
    if (site / MARKER).exists() or not published.is_dir():
        return
    shutil.rmtree(site, ignore_errors=True)
    published.rename(site)
    (site / MARKER).write_text(json.dumps({"published_from": spec.name}))


def site(spec: YearSpec) -> Path:
    """The store's tree as the site holds it: the one kept by the publish bench, else
    published now (to a directory, its publish records removed afterwards)."""
    from website.models import PublishedDate, PublishedObject, PublishRun
    from website.publishing import publish

    directory = site_directory(spec)
    if (directory / MARKER).exists():
        return directory
    partial = spec.directory / "site.partial"
    shutil.rmtree(partial, ignore_errors=True)
    url = f"file://{partial}"
    try:
        with snapshot_root(spec.store_root):
            outcome = publish(url)
        if outcome.errors:
            raise RuntimeError(f"publishing the year's site failed: {outcome.errors[:3]}")
    finally:
        PublishedObject.objects.filter(destination=url).delete()
        PublishedDate.objects.filter(destination=url).delete()
        PublishRun.objects.filter(destination=url).delete()
    keep_site(spec, partial)
    return directory
