"""`make bench` publish: the district-statistics site's tree of N dates x 120 districts (full
detail, with the all-districts summary) published from a private store to a directory and to a
Google Cloud Storage bucket (`gcp-storage-emulator`, a process of its own): seconds, objects
and bytes of the first publish, then a re-publish of the same state, which must write 0 objects.

N is `BENCH_PUBLISH_DAYS` (default 10 school days of March 2025); the seeding (the simulator's
three reports per district, archived and normalized as a collection would) is timed apart.
With `BENCH_YEAR=1` the store is the program year of `year_store` (seeded once, reused), read
where it lies; the tree published to the directory is kept beside it for the import bench.
`BENCH_PUBLISH_GCS=0` leaves the GCS emulator out (it holds every object in memory).

The emulator is started with its metadata file switched off: after every object it writes, it
serializes the metadata of every object it holds (quadratic: hours for a program year's 30,000
objects); its objects and their metadata stay in its memory as before.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from simulator.exports import SimulatedDashboard
from tests.fixtures.gcs import GcsServer
from tests.fixtures.redis import free_port
from tests.fixtures.servers import listening_process
from tests.website.stored import store_day
from website.models import PublishedDate, PublishedObject, PublishRun
from website.publishing import publish

from . import year_store
from .harness import peak_rss_mib

FIRST_DAY = date(2025, 3, 10)


@contextmanager
def private_store():
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as work:
        root = Path(work) / "store"
        root.mkdir()
        storages = {
            **settings.STORAGES,
            "snapshots": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(root)},
            },
        }
        with override_settings(SNAPSHOT_ROOT=root, STORAGES=storages):
            yield Path(work)


def _timed_publish(url: str) -> dict:
    started = time.perf_counter()
    first = publish(url)
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    started = time.perf_counter()
    again = publish(url)
    return {
        "seconds": round(seconds, 2),
        "objects": first.written,
        "objects_per_second": round(first.written / seconds),
        "bytes": first.bytes,
        "errors": len(first.errors),
        "peak_rss_mib": peak,
        "noop_seconds": round(time.perf_counter() - started, 2),
        "noop_objects_written": again.written,
    }


def _publish_both(work: Path, result: dict, destinations: list[str]) -> None:
    """Publish to a directory under `work`, then (unless BENCH_PUBLISH_GCS=0) to a bucket of
    a GCS emulator; the figures go into `result` under `directory_` and `gcs_`."""
    destinations.append(f"file://{work / 'cdn'}")
    for key, value in _timed_publish(destinations[-1]).items():
        result[f"directory_{key}"] = value
    if os.environ.get("BENCH_PUBLISH_GCS", "1") == "0":
        return
    with gcs_emulator(work / "gcs.log") as (server, process):
        os.environ["STORAGE_EMULATOR_HOST"] = server.endpoint_url
        bucket = server.client().create_bucket(f"bench-{uuid.uuid4().hex[:12]}")
        destinations.append(f"gs://{bucket.name}/site")
        for key, value in _timed_publish(destinations[-1]).items():
            result[f"gcs_{key}"] = value
        result["gcs_emulator_peak_rss_mib"] = _peak_rss_mib(process.pid)


_EMULATOR = (
    "from gcp_storage_emulator import storage;"
    "storage.Storage._write_config_to_file = lambda self: None;"
    "from gcp_storage_emulator.__main__ import main; main()"
)


@contextmanager
def gcs_emulator(log_path: Path):
    """The GCS emulator in memory, without its metadata file (see the module docstring)."""
    port = free_port()
    command = [sys.executable, "-c", _EMULATOR, "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--in-memory"]
    with listening_process(command, port=port, name="GCS emulator", log_path=log_path) as process:
        yield GcsServer(endpoint_url=f"http://127.0.0.1:{port}"), process


def _peak_rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    peak = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(int(peak.split()[1]) / 1024, 1)


def _forget(destinations: list[str]) -> None:
    os.environ.pop("STORAGE_EMULATOR_HOST", None)
    PublishedObject.objects.filter(destination__in=destinations).delete()
    PublishedDate.objects.filter(destination__in=destinations).delete()
    PublishRun.objects.filter(destination__in=destinations).delete()


def run(days: int | None = None, districts: int = 120) -> dict:
    if year_store.enabled():
        return run_year()
    days = days or int(os.environ.get("BENCH_PUBLISH_DAYS", "10"))
    ids = SimulatedDashboard().districts_for("2024-2025")[:districts]
    dates = [FIRST_DAY + timedelta(days=i) for i in range(days)]
    destinations: list[str] = []
    try:
        with private_store() as work, year_store.index_kept(dates):
            started = time.perf_counter()
            for day in dates:
                store_day(day, ids)
            result = {
                "dates": days,
                "districts": len(ids),
                "seed_seconds": round(time.perf_counter() - started, 1),
            }
            _publish_both(work, result, destinations)
            return result
    finally:
        _forget(destinations)


def run_year() -> dict:
    """The program year's store published where it lies (it is only read)."""
    spec = year_store.YearSpec.from_environment()
    seeded = year_store.seed(spec)
    result = year_store.described(seeded)
    destinations: list[str] = []
    try:
        with (
            year_store.snapshot_root(spec.store_root),
            tempfile.TemporaryDirectory(prefix="publish-", dir=spec.directory) as work,
        ):
            _publish_both(Path(work), result, destinations)
            year_store.keep_site(spec, Path(work) / "cdn")
        return result
    finally:
        _forget(destinations)
