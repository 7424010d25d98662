"""The engine's jobs on the program-year store (`BENCH_YEAR=1` for the archive and analytics
benches): a hard-linked working copy of the seeded store, its `Snapshot` rows written from the
manifests, a simulator (it must see no request) and a Celery worker per process count.

`BENCH_PROCESSES` (e.g. `1,2`) names the worker pool sizes to run, one job each, in order, on
the same working copy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backfill.models import RateLimitConfig

from . import year_store
from .harness import bench_environment, simulator_process


def process_counts(default: str) -> list[int]:
    return [int(n) for n in os.environ.get("BENCH_PROCESSES", default).split(",") if n.strip()]


@contextmanager
def year_environment(spec: year_store.YearSpec, prefix: str) -> Iterator[tuple[dict, Path, str]]:
    """(worker environment, working store root, simulator URL) over a working copy of the
    program year, its dates indexed; the database's rows of those dates put back on leaving,
    and the rate limit's `max_concurrent` too (8 here, so that no job waits on it)."""
    config = RateLimitConfig.load()
    saved = config.max_concurrent
    RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=8)
    try:
        with (
            tempfile.TemporaryDirectory(prefix=prefix, dir=spec.directory) as scratch,
            year_store.working_copy(spec, Path(scratch)) as root,
            simulator_process() as base_url,
            bench_environment(base_url, root) as (env, _),
            # every date of the range: a job may index a date the seed has no files for
            year_store.index_kept(spec.calendar_dates()),
        ):
            year_store.indexed(spec)
            yield env, root, base_url
    finally:
        RateLimitConfig.objects.filter(pk=config.pk).update(max_concurrent=saved)


def label(processes: int) -> str:
    return f"{processes}_process{'es' if processes > 1 else ''}"
