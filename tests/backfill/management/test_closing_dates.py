"""`manage.py closing_dates` and the admin of month-end closing dates."""

from __future__ import annotations

import json
import uuid
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backfill import limits
from districts.dashboard.closing import closing_date_for, closing_registry
from districts.models import ClosingSource, MonthEndClosing
from simulator.periods import simulated_closing_day


def run(*args) -> str:
    out = StringIO()
    call_command("closing_dates", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def private_limits(settings, fast_limits):
    prefix = f"closing-cmd-{uuid.uuid4().hex[:12]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = prefix
    yield
    redis_client = limits.get_redis()
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        redis_client.delete(key)


def test_list_shows_each_month_with_its_source(db):
    MonthEndClosing.objects.create(
        data_month=date(2026, 8, 1), closing_date=date(2026, 9, 6), source="discovered"
    )
    MonthEndClosing.objects.create(
        data_month=date(2026, 11, 1), still_closing_on=date(2026, 12, 3), source="discovered"
    )

    lines = run("list", "--since", "2026-06").splitlines()

    assert lines == [
        "2026-06  2026-07-29  shipped",
        "2026-07  2026-08-10  shipped",
        "2026-08  2026-09-06  discovered",
        "2026-11  still closing on 2026-12-03",
    ]


def test_export_writes_the_merged_registry_in_the_shipped_shape(db, tmp_path):
    MonthEndClosing.objects.create(
        data_month=date(2026, 8, 1), closing_date=date(2026, 9, 6), source="operator"
    )
    path = tmp_path / "closing.json"

    run("export", "--output", str(path))

    months = json.loads(path.read_text())["months"]
    assert months[-1] == {"dataMonth": "2026-08", "closingDate": "2026-09-06"}
    assert len(months) == len(closing_registry())
    assert json.loads(run("export"))["months"] == months


def test_discover_probes_the_simulator_and_stores_the_month(db, simulator, private_limits):
    # The command and the simulator both go by the real date (later than 2026-10).
    expected = date(2026, 10, simulated_closing_day(date(2026, 9, 1)))

    output = run("discover", "--month", "2026-09")

    assert f"2026-09 closed on {expected.isoformat()} (discovered;" in output
    assert closing_date_for(date(2026, 9, 1)) == expected
    assert all(e["report"] == "districtsummary" for e in simulator.requests())
    assert 1 <= len(simulator.requests()) <= 7


def test_discover_of_a_malformed_month_is_a_command_error(db):
    with pytest.raises(CommandError, match="YYYY-MM"):
        run("discover", "--month", "2026-13")


def test_admin_lists_and_edits_closing_dates_as_operator_rows(db, admin_client):
    MonthEndClosing.objects.create(
        data_month=date(2026, 8, 1), closing_date=date(2026, 9, 6), source="discovered"
    )
    row = MonthEndClosing.objects.get()

    listing = admin_client.get("/admin/districts/monthendclosing/")
    assert listing.status_code == 200
    assert b"Sept. 6, 2026" in listing.content or b"2026-09-06" in listing.content

    response = admin_client.post(
        f"/admin/districts/monthendclosing/{row.pk}/change/",
        {"data_month": "2026-08-01", "closing_date": "2026-09-07", "note": "checked on the site"},
    )
    assert response.status_code == 302, response.content[:2000]
    row.refresh_from_db()
    assert (row.closing_date, row.source) == (date(2026, 9, 7), ClosingSource.OPERATOR)
    assert closing_date_for(date(2026, 8, 1)) == date(2026, 9, 7)


def test_admin_refuses_a_closing_date_before_the_month(db, admin_client):
    response = admin_client.post(
        "/admin/districts/monthendclosing/add/",
        {"data_month": "2026-08-01", "closing_date": "2026-07-30"},
    )

    assert response.status_code == 200
    assert b"cannot close before it starts" in response.content
    assert not MonthEndClosing.objects.exists()
