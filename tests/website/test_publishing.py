"""`website.publishing`: the site's tree from a stored collection to a directory, written
whole, only what changed, indexes last."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.website.stored import store_day
from website import publishing
from website.errors import BadDestination, NoDestination
from website.models import PublishedObject, PublishRun
from website.publishing import (
    publish,
    publish_dates,
    publish_indexes,
    publishable_dates,
)

pytestmark = pytest.mark.django_db

DAYS = (date(2025, 3, 10), date(2025, 3, 11))


@pytest.fixture
def stored(snapshot_root):
    for day in DAYS:
        store_day(day, ["42", "61"])
    return snapshot_root


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_publish_writes_every_file_type_of_the_site(stored, tmp_path):
    out = tmp_path / "cdn"
    outcome = publish(f"file://{out}")
    files = tree(out)
    assert outcome.errors == ()
    assert outcome.written == len(files)
    for day in ("2025-03-10", "2025-03-11"):
        for name in (
            "district_42.json",
            "district_61.json",
            "manifest.json",
            "metadata.json",
            "all-districts-rankings.json",
        ):
            assert f"snapshots/{day}/{name}" in files
    for name in (
        "time-series/district_42/index-metadata.json",
        "time-series/district_42/2024-2025.json",
        "v1/latest.json",
        "v1/dates.json",
        "v1/rankings.json",
        "v1/rank-history/42.json",
        "config/district-snapshot-index.json",
        "config/club-index.json",
    ):
        assert name in files
    assert json.loads(files["v1/latest.json"])["latestSnapshotDate"] == "2025-03-11"
    assert outcome.paths[-1] == "v1/latest.json"


def test_the_same_state_published_twice_writes_nothing_and_the_bytes_stay(stored, tmp_path):
    out = tmp_path / "cdn"
    first = publish(f"file://{out}")
    before = tree(out)
    second = publish(f"file://{out}")
    assert second.written == 0
    assert second.skipped == first.written
    assert tree(out) == before


def test_files_go_in_chunks_and_the_indexes_as_they_are_built(stored, tmp_path, monkeypatch):
    monkeypatch.setattr(publishing, "WRITE_CHUNK", 3)
    built = []
    index_files = publishing.index_files

    def watched(facts):
        for file in index_files(facts):
            built.append(file.path)
            yield file

    monkeypatch.setattr(publishing, "index_files", watched)
    out = tmp_path / "cdn"
    first = publish(f"file://{out}")
    assert first.written == len(tree(out)) == PublishedObject.objects.count() > 3
    assert built[-1] == "v1/latest.json" and first.paths[-1] == "v1/latest.json"
    assert publish(f"file://{out}").written == 0


def test_a_changed_date_rewrites_its_files_and_the_indexes_only(stored, tmp_path):
    out = tmp_path / "cdn"
    publish(f"file://{out}")
    store_day(DAYS[1], ["42", "61"], seed=7)
    outcome = publish(f"file://{out}")
    assert outcome.written > 0
    assert not any(p.startswith("snapshots/2025-03-10/") for p in outcome.paths)
    # The newest date's analytics are written with the indexes, after every date's files.
    with_indexes = [not p.startswith("snapshots/") or "/analytics/" in p for p in outcome.paths]
    dated = [i for i, last in enumerate(with_indexes) if not last]
    indexes = [i for i, last in enumerate(with_indexes) if last]
    assert dated and indexes and max(dated) < min(indexes)
    assert any(p.startswith("snapshots/2025-03-11/analytics/") for p in outcome.paths)
    assert "v1/latest.json" not in outcome.paths  # the newest date is still 2025-03-11


def test_raw_rows_are_the_archived_csv_keyed_by_published_headers(stored, tmp_path):
    out = tmp_path / "cdn"
    publish(f"file://{out}")
    district = json.loads((out / "snapshots/2025-03-10/district_42.json").read_bytes())
    club_rows = district["data"]["clubPerformance"]
    assert club_rows and all(isinstance(v, str) for row in club_rows for v in row.values())
    assert {"Club Number", "Club Status", "Goals Met", "Division", "Area"} <= set(club_rows[0])
    assert len(club_rows) == len(district["data"]["clubs"])


def test_the_manifest_lists_exactly_the_district_files_with_their_sizes(stored, tmp_path):
    out = tmp_path / "cdn"
    publish(f"file://{out}")
    manifest = json.loads((out / "snapshots/2025-03-10/manifest.json").read_bytes())
    listed = {e["fileName"]: e["fileSize"] for e in manifest["districts"]}
    present = {
        p.name: p.stat().st_size for p in (out / "snapshots/2025-03-10").glob("district_*.json")
    }
    assert listed == present
    assert manifest["allDistrictsRankings"]["status"] == "present"


def test_rankings_hold_every_district_of_the_summary(stored, tmp_path):
    out = tmp_path / "cdn"
    publish(f"file://{out}")
    rankings = json.loads((out / "snapshots/2025-03-10/all-districts-rankings.json").read_bytes())
    assert rankings["metadata"]["totalDistricts"] == len(rankings["rankings"]) > 2


def test_a_dry_run_writes_nothing_but_counts_and_records_the_run(stored, tmp_path):
    out = tmp_path / "cdn"
    outcome = publish(f"file://{out}", dry_run=True)
    assert outcome.written > 0
    assert not out.exists()
    assert not PublishedObject.objects.exists()
    assert PublishRun.objects.get().dry_run


def test_publish_records_its_run(stored, tmp_path):
    outcome = publish(f"file://{tmp_path / 'cdn'}", DAYS[0], DAYS[0])
    run = PublishRun.objects.get()
    assert (run.first_date, run.last_date, run.dates) == (DAYS[0], DAYS[0], 1)
    assert (run.objects_written, run.bytes_written) == (outcome.written, outcome.bytes)


def test_indexes_name_only_dates_at_the_destination(stored, tmp_path):
    out = tmp_path / "cdn"
    publish(f"file://{out}", DAYS[0], DAYS[0])
    dates = json.loads((out / "v1/dates.json").read_bytes())
    assert dates["dates"] == ["2025-03-10"]


def test_dates_then_indexes_as_the_jobs_call_them(stored, tmp_path):
    url = f"file://{tmp_path / 'cdn'}"
    assert publishable_dates(DAYS[1]) == [DAYS[1]]
    assert publishable_dates(end=DAYS[0]) == [DAYS[0]]
    dated = publish_dates(url, publishable_dates())
    assert not any(p.startswith(("v1/", "config/", "time-series/")) for p in dated.paths)
    indexes = publish_indexes(url)
    assert indexes.paths[-1] == "v1/latest.json"
    assert publish(url).written == 0


def test_no_destination_is_a_clear_error(settings):
    settings.PUBLISH_DESTINATION = ""
    with pytest.raises(NoDestination, match="PUBLISH_DESTINATION"):
        publish(None)


def test_a_destination_of_another_kind_is_refused():
    with pytest.raises(BadDestination, match="ftp://x"):
        publish("ftp://x/y")


def test_an_unchanged_date_is_not_even_rebuilt(stored, tmp_path, monkeypatch):
    url = f"file://{tmp_path / 'cdn'}"
    first = publish(url)
    monkeypatch.setattr(
        "website.publishing.date_files", lambda stored: pytest.fail("rebuilt an unchanged date")
    )
    second = publish(url)
    assert (second.written, second.skipped) == (0, first.written)


def test_a_date_whose_sources_changed_is_rebuilt(stored, tmp_path):
    url = f"file://{tmp_path / 'cdn'}"
    publish(url)
    store_day(DAYS[0], ["42", "61", "2"])
    outcome = publish(url)
    assert "snapshots/2025-03-10/district_02.json" in outcome.paths
    assert "snapshots/2025-03-10/manifest.json" in outcome.paths
    assert not any(p.startswith("snapshots/2025-03-11/") for p in outcome.paths)


def test_a_publish_waits_for_another_to_the_same_destination(stored, tmp_path, monkeypatch):
    from website import publishing

    url = f"file://{tmp_path / 'cdn'}"
    monkeypatch.setattr(publishing, "LOCK_WAIT_SECONDS", 0.2)
    target = publishing.destination_of(url)
    with publishing._one_publisher(target):
        with pytest.raises(publishing.PublishError, match="another publish to"):
            publish(url)
        assert publish_dates(url, [DAYS[0]]).written > 0  # dates need no lock
    assert publish(url).errors == ()
