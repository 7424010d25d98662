"""Where a manifest says a district file came from (snapshots/store/manifests.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from snapshots import store
from tests.snapshots.factories import full_statistics

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)


def finalize(**kwargs):
    return store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["1", "2"],
        job_id=None,
        district_errors={},
        **kwargs,
    )


def sources(manifest) -> dict[str, str | None]:
    return {f["districtId"]: f.get("source") for f in manifest["files"]}


def test_a_file_keeps_its_source_while_its_bytes_stay_the_same(snapshot_root):
    for district_id in ("1", "2"):
        store.write_district(
            logical_date=DAY, statistics=full_statistics(district_id=district_id, logical_date=DAY)
        )
    assert sources(finalize(sources={"1": "toast-stats"})) == {"1": "toast-stats", "2": None}

    assert sources(finalize()) == {"1": "toast-stats", "2": None}
    assert sources(store.rebuild_manifest(logical_date=DAY)) == {"1": "toast-stats", "2": None}

    collected = full_statistics(district_id="1", logical_date=DAY)
    store.write_district(logical_date=DAY, statistics=replace(collected, region="09"))
    assert sources(finalize()) == {"1": None, "2": None}
