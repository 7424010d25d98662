"""The program-year store of the benches (year_store): seeded once and reused, resumed after an
interruption, closing-period dates left out, the database's index rows put back, and working
copies that never change the seeded files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from snapshots import store
from snapshots.models import Snapshot
from tests.benchmarks import year_store

pytestmark = pytest.mark.django_db

# 2024-07-30 to 2024-08-02: two ordinary days, July's month end (collected at its closing
# date), and August 1, inside July's closing period (no data of its own).
SPEC = dict(start=date(2024, 7, 29), days=4, districts=2)


@pytest.fixture
def spec(tmp_path, monkeypatch) -> year_store.YearSpec:
    monkeypatch.setenv("BENCH_YEAR_DIR", str(tmp_path))
    return year_store.YearSpec(**SPEC)


def test_seeds_the_dates_with_data_and_reuses_a_complete_store(spec):
    first = year_store.seed(spec, processes=1)
    assert first["reused"] is False
    assert [d.isoformat() for d in spec.dates()] == ["2024-07-29", "2024-07-30", "2024-07-31"]
    assert first["district_files"] == 6
    with year_store.snapshot_root(spec.store_root):
        assert store.stored_dates() == spec.dates()
        manifest = store.read_manifest(logical_date=date(2024, 7, 31))
    assert len(manifest["files"]) == 2
    assert json.loads((spec.directory / year_store.MARKER).read_text())["dates"] == 3
    mtime = (spec.store_root / "2024-07-30" / "manifest.json").stat().st_mtime_ns

    again = year_store.seed(spec, processes=1)

    assert again["reused"] is True
    assert (spec.store_root / "2024-07-30" / "manifest.json").stat().st_mtime_ns == mtime


def test_an_interrupted_seed_resumes_at_the_dates_without_a_manifest(spec):
    year_store.seed(spec, processes=1)
    (spec.directory / year_store.MARKER).unlink()
    (spec.store_root / "2024-07-31" / "manifest.json").unlink()

    resumed = year_store.seed(spec, processes=1)

    assert resumed["seeded_dates_this_run"] == 1
    assert (spec.store_root / "2024-07-31" / "manifest.json").exists()


def test_the_index_rows_of_the_seeded_dates_are_put_back(spec):
    day = date(2024, 7, 30)
    year_store.seed(spec, processes=1)
    assert not Snapshot.objects.filter(logical_date__in=spec.dates()).exists()
    with year_store.snapshot_root(spec.store_root), year_store.index_kept(spec.dates()):
        year_store.indexed(spec)
        assert Snapshot.objects.get(logical_date=day).district_count == 2
    assert not Snapshot.objects.filter(logical_date__in=spec.dates()).exists()


def test_writing_in_a_working_copy_leaves_the_seeded_files_alone(spec, tmp_path):
    year_store.seed(spec, processes=1)
    day, district_id = date(2024, 7, 30), spec.district_ids()[0]
    seeded_file = spec.store_root / "2024-07-30" / f"district_{district_id}.json"
    before = seeded_file.read_bytes()
    with year_store.working_copy(spec, tmp_path) as copy, year_store.snapshot_root(copy):
        stats = store.read_district(logical_date=day, district_id=district_id)
        store.write_district(logical_date=day, statistics=replace(stats, warnings=("edited",)))
        assert (copy / "2024-07-30" / seeded_file.name).read_bytes() != before
    assert seeded_file.read_bytes() == before


def test_a_store_seeded_by_other_code_is_seeded_again(spec):
    year_store.seed(spec, processes=1)
    district_file = spec.store_root / "2024-07-29" / f"district_{spec.district_ids()[0]}.json"
    seeded = district_file.read_bytes()
    district_file.write_bytes(seeded.replace(b'"detail"', b'"detail" ', 1))

    again = year_store.seed(spec, processes=1)

    assert again["reused"] is False
    assert district_file.read_bytes() == seeded
