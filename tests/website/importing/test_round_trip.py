"""The round trip: collect from the simulator, publish the site's tree (website.publishing),
import it into an empty store (website.importing): the same normalized figures, byte for
byte, and no request to the dashboard during the import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backfill.contracts import backfill_request
from backfill.models import JobStatus
from backfill.services import jobs
from snapshots import store
from snapshots.models import Snapshot
from tests.fixtures.jobs import run_to_the_end
from website.importing import SOURCE, import_site
from website.publishing import publish

pytestmark = pytest.mark.django_db(transaction=True)

DISTRICTS = ["2", "42"]  # 2: the site names it 02
# Two ordinary days and a month end, collected at March's closing date in April.
DAYS = [date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 31)]


def district_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("*/district_*.json"))
    }


def collect(start: date, end: date) -> None:
    request = {
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "targetDistricts": DISTRICTS,
    }
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.COMPLETED


def test_collected_published_and_imported_figures_are_byte_identical(
    backfill_env, fast_limits, sent, simulator, snapshot_root, settings, tmp_path
):
    collect(DAYS[0], DAYS[1])
    collect(DAYS[2], DAYS[2])
    collected = district_files(snapshot_root)
    assert len(collected) == len(DAYS) * len(DISTRICTS)
    site = tmp_path / "cdn"
    assert publish(f"file://{site}").errors == ()

    empty = tmp_path / "empty-store"
    empty.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(empty)},
        },
    }
    Snapshot.objects.all().delete()
    requests_before = len(simulator.requests())

    assert (site / f"snapshots/{DAYS[0]}/district_02.json").exists()
    outcomes = import_site(f"file://{site}")

    assert len(simulator.requests()) == requests_before
    assert [(day, o.stored, o.refused) for day, o in outcomes] == [
        (day, tuple(DISTRICTS), ()) for day in DAYS
    ]
    assert district_files(empty) == collected
    month_end = store.read_district(logical_date=DAYS[2], district_id="42")
    assert month_end.is_closing_period and month_end.as_of_date.month == 4
    for day in DAYS:
        manifest = store.read_manifest(logical_date=day)
        assert {f["source"] for f in manifest["files"]} == {SOURCE}
    assert Snapshot.objects.count() == len(DAYS)
