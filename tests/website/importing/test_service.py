"""Importing the site's history (website/importing/service.py) into an empty store."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from districts.dashboard.collect import accept, district_from
from districts.dashboard.reports import ReportType
from districts.dashboard.urls import request_for
from snapshots import store
from snapshots.models import Snapshot
from tests.fixtures.s3 import CREDENTIALS
from tests.fixtures.site_tree import (
    simulated_exports,
    simulated_site,
    site_district_file,
    write_site_date,
)
from website.importing import SOURCE, import_date, import_site, importable_dates

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)
MONTH_END = date(2025, 3, 31)  # collected at March's closing date, in April
DISTRICTS = ["2", "21", "F"]


def collected(district_id: str, day: date):
    """What collecting the same CSVs from the dashboard gives."""
    exports = simulated_exports(district_id, day)
    return district_from(
        lambda request: (accept(exports[request.report], request), exports[request.report]),
        district_id=district_id,
        logical_date=day,
    )


def test_import_stores_the_figures_collecting_the_same_csvs_gives(
    snapshot_root, tmp_path, simulator
):
    site = simulated_site(tmp_path / "site", [DAY, MONTH_END], DISTRICTS)

    outcomes = import_site(f"file://{site}")

    assert [(day, o.stored, o.refused) for day, o in outcomes] == [
        (DAY, tuple(DISTRICTS), ()),
        (MONTH_END, tuple(DISTRICTS), ()),
    ]
    for day in (DAY, MONTH_END):
        for district_id in DISTRICTS:
            expected = collected(district_id, day)
            stored = store.read_district(logical_date=day, district_id=district_id)
            assert stored == expected.statistics
            assert store.district_sha256(stored) == store.district_sha256(expected.statistics)
            assert stored.detail == "full"
    assert simulator.requests() == []


def test_the_closing_period_data_of_a_month_end_keeps_its_collection_date(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [MONTH_END], ["21"])

    import_date(str(site), MONTH_END)

    stored = store.read_district(logical_date=MONTH_END, district_id="21")
    assert stored.is_closing_period and stored.as_of_date > MONTH_END
    assert stored.data_month == "2025-03"


def test_an_import_is_archived_as_csv_indexed_and_marked_with_its_source(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [DAY], DISTRICTS)

    import_date(f"file://{site}", DAY)

    # The rebuilt exports are the very bytes the dashboard sent.
    for report, data in simulated_exports("21", DAY).items():
        assert store.read_raw_csv(as_of=DAY, report=report, district_id="21") == data
    manifest = store.read_manifest(logical_date=DAY)
    assert (manifest["status"], manifest["collectionStrategy"]) == ("completed", "import")
    assert [(f["districtId"], f["source"]) for f in manifest["files"]] == [
        (d, SOURCE) for d in DISTRICTS
    ]
    row = Snapshot.objects.get(logical_date=DAY)
    assert (row.district_count, row.as_of_date) == (3, DAY)


def test_a_file_failing_a_contract_is_refused_with_its_reason_and_nothing_of_it_stored(
    snapshot_root, tmp_path
):
    site = tmp_path / "site"
    good = site_district_file("2", DAY, simulated_exports("2", DAY))
    bad = site_district_file("21", DAY, simulated_exports("21", DAY))
    bad["data"]["clubPerformance"][0]["Goals Met"] = "eleven"
    write_site_date(site, DAY, {"2": good, "21": bad})

    outcome = import_date(str(site), DAY)

    assert outcome.stored == ("2",)
    [(path, reason)] = outcome.refused
    assert path == "snapshots/2025-03-10/district_21.json"
    assert "Goals Met is 'eleven'" in reason
    assert store.read_district(logical_date=DAY, district_id="21") is None
    assert store.archived_districts(as_of=DAY, report="clubperformance") == {"2"}
    manifest = store.read_manifest(logical_date=DAY)
    assert manifest["status"] == "partial_success"
    assert [(e["districtId"], e["errorType"]) for e in manifest["errors"]] == [
        ("21", "validation_failed")
    ]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            lambda f: f.update(status="failed", errorMessage="timeout"),
            "recorded district 21 as failed",
        ),
        (lambda f: f["data"].update(districtId="22"), "data.districtId is '22'"),
        (lambda f: f["data"].update(snapshotDate="2025-03-11"), "data.snapshotDate"),
        (lambda f: f["data"].pop("clubPerformance"), "data.clubPerformance: Field required"),
        (lambda f: f["data"].update(divisionPerformance=[]), "divisionPerformance has no rows"),
        (lambda f: f["data"]["districtPerformance"][0].update(District="22"), "row for district"),
        (lambda f: f["data"]["clubPerformance"][1].pop("Area"), "other columns than the first"),
        (lambda f: f["data"]["clubPerformance"][0].update({"Goals Met": True}), "Goals Met"),
    ],
)
def test_files_the_site_schema_or_our_contracts_refuse(snapshot_root, tmp_path, damage, reason):
    content = site_district_file("21", DAY, simulated_exports("21", DAY))
    damage(content)
    write_site_date(tmp_path / "site", DAY, {"21": content})

    outcome = import_date(str(tmp_path / "site"), DAY)

    assert outcome.stored == ()
    assert reason in outcome.refused[0][1]
    assert store.read_manifest(logical_date=DAY) is None
    assert store.read_raw_csv(as_of=DAY, report="clubperformance", district_id="21") is None


def test_data_the_closing_dates_store_under_another_date_is_refused(snapshot_root, tmp_path):
    # 2025-03-31 collected on April 20: March closed earlier, so that is April's data.
    files = {"21": site_district_file("21", MONTH_END, simulated_exports("21", MONTH_END))}
    write_site_date(tmp_path / "site", MONTH_END, files, as_of=date(2025, 4, 20))

    outcome = import_date(str(tmp_path / "site"), MONTH_END)

    assert outcome.stored == ()
    [(path, reason)] = outcome.refused
    assert path == "snapshots/2025-03-31/district_21.json"
    assert "store under 2025-04-20, not 2025-03-31" in reason


def test_a_month_end_collected_earlier_in_its_closing_period_is_stored_as_of_that_day(
    snapshot_root, tmp_path
):
    closing = request_for(ReportType.CLUB_PERFORMANCE, MONTH_END, "21").as_of
    earlier = closing - timedelta(days=2)
    files = {"21": site_district_file("21", MONTH_END, simulated_exports("21", MONTH_END))}
    write_site_date(tmp_path / "site", MONTH_END, files, as_of=earlier)

    outcome = import_date(str(tmp_path / "site"), MONTH_END)

    assert outcome.stored == ("21",)
    stored = store.read_district(logical_date=MONTH_END, district_id="21")
    assert (stored.as_of_date, stored.is_closing_period) == (earlier, True)
    assert store.read_raw_csv(as_of=earlier, report="clubperformance", district_id="21")


def test_a_date_without_metadata_is_refused_whole(snapshot_root, tmp_path):
    files = {d: site_district_file(d, DAY, simulated_exports(d, DAY)) for d in ("2", "21")}
    directory = write_site_date(tmp_path / "site", DAY, files)
    (directory / "metadata.json").unlink()

    outcome = import_date(str(tmp_path / "site"), DAY)

    assert outcome.stored == ()
    assert [reason for _, reason in outcome.refused] == [
        "snapshots/2025-03-10/metadata.json is missing: the as-of date of the data is unknown"
    ] * 2


def test_a_dry_run_checks_everything_and_writes_nothing(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [DAY], DISTRICTS)

    [(day, outcome)] = import_site(str(site), dry_run=True)

    assert (day, outcome.stored) == (DAY, tuple(DISTRICTS))
    assert store.stored_dates() == []
    assert not Snapshot.objects.exists()


def test_an_import_never_replaces_what_is_stored(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [DAY], DISTRICTS)
    import_date(str(site), DAY)
    manifest = store.read_manifest(logical_date=DAY)
    content = json.loads((site / "snapshots/2025-03-10/district_2.json").read_text())
    content["data"]["clubPerformance"][0]["Active Members"] = "99"
    (site / "snapshots/2025-03-10/district_2.json").write_text(json.dumps(content))

    again = import_date(str(site), DAY)

    assert (again.stored, again.refused, again.skipped) == ((), (), tuple(DISTRICTS))
    assert store.read_manifest(logical_date=DAY)["files"] == manifest["files"]


def test_importable_dates_lists_the_site_dates_in_range(tmp_path):
    for name in ("2025-03-10", "2025-03-11", "2025-04-01", "latest", "2025-02-30"):
        (tmp_path / "snapshots" / name).mkdir(parents=True)

    assert importable_dates(str(tmp_path)) == [
        date(2025, 3, 10),
        date(2025, 3, 11),
        date(2025, 4, 1),
    ]
    assert importable_dates(str(tmp_path), date(2025, 3, 11), date(2025, 3, 31)) == [
        date(2025, 3, 11)
    ]


def test_importing_into_a_collected_date_keeps_what_the_collection_recorded(
    snapshot_root, tmp_path
):
    store.write_district(logical_date=DAY, statistics=collected("2", DAY).statistics)
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy="per-district",
        scope=["2", "61"],
        job_id=None,
        district_errors={"61": {"errorType": "fetch_failed", "message": "503"}},
    )
    site = simulated_site(tmp_path / "site", [DAY], ["2", "21"])

    outcome = import_date(str(site), DAY)

    assert (outcome.stored, outcome.skipped) == (("21",), ("2",))
    manifest = store.read_manifest(logical_date=DAY)
    assert manifest["collectionStrategy"] == "per-district"
    assert manifest["scope"] == ["2", "21", "61"]
    assert [(f["districtId"], f.get("source")) for f in manifest["files"]] == [
        ("2", None),
        ("21", SOURCE),
    ]
    assert [(e["districtId"], e["errorType"]) for e in manifest["errors"]] == [
        ("61", "fetch_failed")
    ]


def test_a_site_in_a_bucket_imports_as_a_directory_does(
    snapshot_root, tmp_path, s3_server, monkeypatch, settings
):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.PUBLISH_S3_ENDPOINT_URL = s3_server.endpoint_url
    client, bucket = s3_server.client(), f"site-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    site = simulated_site(tmp_path / "site", [DAY], DISTRICTS)
    for path in site.rglob("*.json"):
        client.put_object(
            Bucket=bucket, Key=f"cdn/{path.relative_to(site)}", Body=path.read_bytes()
        )

    [(day, outcome)] = import_site(f"s3://{bucket}/cdn")

    assert (day, outcome.stored, outcome.refused) == (DAY, tuple(DISTRICTS), ())
    for district_id in DISTRICTS:
        stored = store.read_district(logical_date=DAY, district_id=district_id)
        assert stored == collected(district_id, DAY).statistics
