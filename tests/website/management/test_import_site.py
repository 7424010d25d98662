"""`manage.py import_site` (website/management/commands/import_site.py)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from snapshots import store
from tests.fixtures.site_tree import (
    simulated_exports,
    simulated_site,
    site_district_file,
    write_site_date,
)

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_site", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_prints_what_each_date_stored(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [DAY, date(2025, 3, 11)], ["2", "21"])

    code, out = run(f"file://{site}", "--start", "2025-03-11")

    assert code == 0
    assert out.splitlines() == [
        "2025-03-11  stored 2  skipped 0  refused 0",
        "1 dates: stored 2 district files, refused 0.",
    ]
    assert store.stored_dates() == [date(2025, 3, 11)]


def test_lists_each_refused_file_with_its_reason_and_exits_3(snapshot_root, tmp_path):
    bad = site_district_file("21", DAY, simulated_exports("21", DAY))
    bad["data"]["districtPerformance"] = []
    write_site_date(tmp_path / "site", DAY, {"21": bad})

    code, out = run(str(tmp_path / "site"))

    assert code == 3
    assert (
        "  refused snapshots/2025-03-10/district_21.json: districtPerformance has no rows: "
        "the export cannot be rebuilt"
    ) in out.splitlines()


def test_a_dry_run_says_what_it_would_store_and_stores_nothing(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", [DAY], ["2"])

    code, out = run(str(site), "--dry-run")

    assert (code, out.splitlines()[0]) == (0, "2025-03-10  would store 1  skipped 0  refused 0")
    assert store.stored_dates() == []


def test_a_source_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        call_command("import_site", str(tmp_path / "nowhere"))
