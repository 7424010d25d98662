"""`make bench` publish: the district-statistics site's tree of N dates x 120 districts (full
detail, with the all-districts summary) published from a private store to a directory and to a
Google Cloud Storage bucket (`gcp-storage-emulator`, a process of its own): seconds, objects
and bytes of the first publish, then a re-publish of the same state, which must write 0 objects.

N is `BENCH_PUBLISH_DAYS` (default 10 school days of March 2025); the seeding (the simulator's
three reports per district, archived and normalized as a collection would) is timed apart.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from simulator.exports import SimulatedDashboard
from tests.fixtures.gcs import gcs_emulator
from tests.website.stored import store_day
from website.models import PublishedObject
from website.publishing import publish

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
    started = time.perf_counter()
    again = publish(url)
    return {
        "seconds": round(seconds, 2),
        "objects": first.written,
        "bytes": first.bytes,
        "errors": len(first.errors),
        "noop_seconds": round(time.perf_counter() - started, 2),
        "noop_objects_written": again.written,
    }


def run(days: int | None = None, districts: int = 120) -> dict:
    days = days or int(os.environ.get("BENCH_PUBLISH_DAYS", "10"))
    ids = SimulatedDashboard().districts_for("2024-2025")[:districts]
    dates = [FIRST_DAY + timedelta(days=i) for i in range(days)]
    destinations = []
    try:
        with private_store() as work:
            started = time.perf_counter()
            for day in dates:
                store_day(day, ids)
            result = {
                "dates": days,
                "districts": len(ids),
                "seed_seconds": round(time.perf_counter() - started, 1),
            }
            destinations.append(f"file://{work / 'cdn'}")
            for key, value in _timed_publish(destinations[-1]).items():
                result[f"directory_{key}"] = value
            with gcs_emulator(work / "gcs.log") as server:
                os.environ["STORAGE_EMULATOR_HOST"] = server.endpoint_url
                bucket = server.client().create_bucket(f"bench-{uuid.uuid4().hex[:12]}")
                destinations.append(f"gs://{bucket.name}/site")
                for key, value in _timed_publish(destinations[-1]).items():
                    result[f"gcs_{key}"] = value
            return result
    finally:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
        PublishedObject.objects.filter(destination__in=destinations).delete()
