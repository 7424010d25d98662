"""Crash safety and concurrent writers of snapshots/store/, with real processes.

The writers are separate Python processes (tests/e2e/writer.py) that share this test's
snapshot store (a directory, or a bucket of the S3 server: `store_root`) and test database, so
the tests need `transactional_db`. On a bucket the writers are what workers on several hosts
would be: they share nothing but the bucket, the database and the Redis lock.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from districts.dashboard.statistics import DistrictStatistics
from snapshots import store
from snapshots.services import snapshots_verify
from tests.e2e.writer import raw_csv
from tests.fixtures.backfill import database_url
from tests.fixtures.s3 import ObjectPath
from tests.snapshots.factories import full_statistics

WRITER = Path(__file__).with_name("writer.py")
DAY = date(2025, 3, 10)
KILLS = 25


@pytest.fixture
def writer_env(store_env, transactional_db, settings) -> dict[str, str]:
    # A killed writer's Redis lock (on a bucket) blocks its date for one lease: keep it short.
    settings.SNAPSHOT_LOCK_LEASE_SECONDS = 2
    return {
        **os.environ,
        **store_env,
        "DATABASE_URL": database_url(),
        "SNAPSHOT_LOCK_LEASE_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }


def spawn_writer(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(process: subprocess.Popen) -> None:
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read()


def assert_every_file_is_whole(root: Path | ObjectPath) -> None:
    """Manifests parse and point only at existing, complete district files; raw CSVs are whole."""
    for manifest_path in root.glob("*/manifest.json"):
        manifest = json.loads(manifest_path.read_bytes())
        for entry in manifest["files"]:
            district_file = manifest_path.parent / entry["file"]
            assert district_file.exists(), f"{manifest_path} lists missing {entry['file']}"
    for district_file in root.glob("*/district_*.json"):
        DistrictStatistics.from_dict(json.loads(district_file.read_bytes()))
    for raw in root.glob("raw/**/*.csv"):
        assert raw.read_bytes().endswith(b"END\r\n"), f"{raw} is truncated"


# 25 writer processes, each setting Django up: minutes on a loaded 2-core machine.
@pytest.mark.timeout(300)
def test_a_writer_killed_at_random_points_never_leaves_a_partial_snapshot(writer_env, store_root):
    districts = ["42", "61", "F"]
    rng = random.Random(20250310)
    for _ in range(KILLS):
        process = spawn_writer(writer_env, "crash", DAY.isoformat(), ",".join(districts))
        wait_ready(process)
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        process.stderr.close()
        assert_every_file_is_whole(store_root)

    # The next successful write of the same files leaves nothing to repair.
    for district_id in districts:
        statistics = full_statistics(district_id=district_id, logical_date=DAY)
        store.write_district(logical_date=DAY, statistics=statistics)
        store.archive_raw_csv(
            as_of=DAY,
            report="clubperformance",
            district_id=district_id,
            data=raw_csv(district_id, 0),
        )
    manifest = store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=districts,
        job_id=None,
        district_errors={},
    )
    assert [f["districtId"] for f in manifest["files"]] == districts
    report = snapshots_verify()
    assert report.found == ()
    assert [p for p in store_root.rglob("*") if p.name.endswith(".tmp")] == []


@pytest.mark.timeout(120)
def test_concurrent_writers_of_one_date_give_a_manifest_listing_each_district_once(
    writer_env, store_root
):
    groups = [[str(n) for n in range(start, start + 5)] for start in (1, 6, 11, 16)]
    writers = [
        spawn_writer(writer_env, "rounds", DAY.isoformat(), ",".join(group), "8")
        for group in groups
    ]
    for process in writers:
        wait_ready(process)
    for process in writers:
        _, stderr = process.communicate(timeout=90)
        assert process.returncode == 0, stderr

    manifest = store.read_manifest(logical_date=DAY)
    listed = [f["districtId"] for f in manifest["files"]]
    assert listed == [str(n) for n in range(1, 21)]
    assert manifest["status"] == "completed"
    assert set(manifest["detailLevels"].values()) == {"full"}
    assert snapshots_verify().found == ()
