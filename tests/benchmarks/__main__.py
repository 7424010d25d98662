"""`make bench`: the performance figures the issues name, printed as a table and JSON.

Runs against the configured database (PostgreSQL under `make`), the real Redis, a simulator
process and a Celery worker process. Every figure is measured here, never asserted in a unit test.
Select some with `python -m tests.benchmarks planning status`; options (`--quick`, `--days=30`)
go to the scaling bench (`python -m tests.benchmarks scaling --quick`, see bench_scaling).
`BENCH_YEAR=1` runs publish, import, archive and analytics on a program year x 120 districts,
seeded once and reused (`year_seed`, run only when named, seeds it ahead: see year_store).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backfill_project.settings")
    django.setup()
    from . import bench_engine

    benches = {
        "planning": bench_engine.planning,
        "status": bench_engine.status_read,
        "api_status": bench_engine.api_status,
        "orchestration": bench_engine.orchestration,
        "polling": lambda: importlib.import_module(".bench_polling", __package__).run(),
        "rate_limit": lambda: importlib.import_module(".bench_rate_limit", __package__).run(),
        "analytics": lambda: importlib.import_module(".bench_analytics", __package__).run(),
        "archive": lambda: importlib.import_module(".bench_archive", __package__).run(),
        "parsing": lambda: importlib.import_module(".bench_parsing", __package__).run(),
        "publish": lambda: importlib.import_module(".bench_publish", __package__).run(),
        "import": lambda: importlib.import_module(".bench_import", __package__).run(),
        "year_seed": lambda: importlib.import_module(".year_store", __package__).run(),
        "scaling": lambda: importlib.import_module(".bench_scaling", __package__).run(options),
    }
    options = [arg for arg in argv if arg.startswith("-")]
    # The program-year seed is asked for by name (the year benches seed it when needed).
    chosen = [arg for arg in argv if not arg.startswith("-")] or [
        name for name in benches if name != "year_seed"
    ]
    results = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        results[name] = benches[name]()
        for key, value in results[name].items():
            if not isinstance(value, list | dict):  # tables print themselves
                print(f"   {key:<32} {value}")
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
