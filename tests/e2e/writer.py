"""A snapshot writer run as its own process by the crash-safety and concurrency tests.

    python tests/e2e/writer.py crash <date> <district,...>
        writes the districts, their raw CSVs and the manifest of <date> in an endless loop,
        until it is killed;
    python tests/e2e/writer.py rounds <date> <district,...> <rounds>
        writes the districts and finalizes the snapshot <rounds> times, then exits.

It prints "ready" once Django is set up. The snapshot root and database come from the
environment (SNAPSHOT_ROOT, DATABASE_URL), as for any process of the project.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW_ROWS = 200_000  # about 8 MB, so that many kills land inside a write


def raw_csv(district_id: str, round_number: int, rows: int = RAW_ROWS) -> bytes:
    """A CSV whose last line says it is complete (the test checks for it)."""
    row = f"{district_id},{round_number},{'x' * 32}\r\n".encode()
    return b"District,Round,Row\r\n" + row * rows + b"END\r\n"


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backfill_project.settings")
    import django

    django.setup()
    from snapshots import store
    from tests.snapshots.factories import full_statistics

    mode, day, districts = argv[0], date.fromisoformat(argv[1]), argv[2].split(",")
    rounds = int(argv[3]) if mode == "rounds" else None
    # Built once, so the loop spends its time in the store and the kills land there.
    data = {
        d: (
            full_statistics(district_id=d, logical_date=day, clubs=400),
            raw_csv(d, 1, rows=RAW_ROWS if mode == "crash" else 1000),
        )
        for d in districts
    }
    print("ready", flush=True)
    round_number = 0
    while rounds is None or round_number < rounds:
        round_number += 1
        for district_id, (statistics, raw) in data.items():
            store.write_district(logical_date=day, statistics=statistics)
            store.archive_raw_csv(
                as_of=day, report="clubperformance", district_id=district_id, data=raw
            )
        store.finalize_snapshot(
            logical_date=day,
            collection_strategy="per-district",
            scope=districts,
            job_id=None,
            district_errors={},
        )


if __name__ == "__main__":
    main(sys.argv[1:])
