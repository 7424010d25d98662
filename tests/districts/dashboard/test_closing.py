"""districts/dashboard/closing.py: the merged registry (shipped < discovered < operator < file)
and how soon database rows reach a long-running process."""

from __future__ import annotations

import json
from datetime import date

from districts.dashboard import closing
from districts.dashboard.closing import closing_date_for, closing_registry, registry_json
from districts.models import ClosingSource, MonthEndClosing

SHIPPED_MONTH = date(2026, 7, 1)  # shipped: 2026-08-10


def add(month: date, closing_date: date | None, source: str, **fields) -> None:
    MonthEndClosing.objects.create(
        data_month=month, closing_date=closing_date, source=source, **fields
    )
    closing.clear_cache()


def test_database_rows_extend_the_shipped_registry(db):
    add(date(2026, 8, 1), date(2026, 9, 6), ClosingSource.DISCOVERED)

    assert closing_date_for(date(2026, 8, 15)) == date(2026, 9, 6)
    assert closing_registry()[date(2026, 8, 1)].source == "discovered"
    assert closing_registry()[SHIPPED_MONTH].source == "shipped"


def test_precedence_is_shipped_then_discovered_then_operator_then_file(db, settings, tmp_path):
    assert closing_date_for(SHIPPED_MONTH) == date(2026, 8, 10)
    add(SHIPPED_MONTH, date(2026, 8, 11), ClosingSource.DISCOVERED)
    assert closing_date_for(SHIPPED_MONTH) == date(2026, 8, 11)

    add(date(2026, 9, 1), date(2026, 10, 7), ClosingSource.DISCOVERED)
    MonthEndClosing.objects.filter(data_month=SHIPPED_MONTH).update(
        source=ClosingSource.OPERATOR, closing_date=date(2026, 8, 12)
    )
    closing.clear_cache()
    assert closing_registry()[SHIPPED_MONTH] == closing.ClosingEntry(
        SHIPPED_MONTH, date(2026, 8, 12), "operator"
    )

    extra = tmp_path / "closing.json"
    extra.write_text(json.dumps({"2026-07": "2026-08-13"}))
    settings.CLOSING_DATES_FILE = str(extra)
    assert closing_registry()[SHIPPED_MONTH].source == "file"
    assert closing_date_for(SHIPPED_MONTH) == date(2026, 8, 13)
    assert closing_date_for(date(2026, 9, 1)) == date(2026, 10, 7)


def test_a_row_written_by_another_process_is_seen_within_the_cache_ttl(db, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(closing.time, "monotonic", lambda: now[0])
    assert closing_date_for(date(2026, 8, 1)) is None
    # Another process writes: this one's cache is not cleared.
    MonthEndClosing.objects.create(
        data_month=date(2026, 8, 1), closing_date=date(2026, 9, 6), source="discovered"
    )
    assert closing_date_for(date(2026, 8, 1)) is None  # cached

    now[0] += closing.DATABASE_TTL_SECONDS
    assert closing_date_for(date(2026, 8, 1)) == date(2026, 9, 6)
    assert closing.DATABASE_TTL_SECONDS <= 10


def test_an_open_closing_period_gives_no_closing_date(db):
    add(date(2026, 11, 1), None, ClosingSource.DISCOVERED, still_closing_on=date(2026, 12, 4))

    assert closing_date_for(date(2026, 11, 1)) is None
    assert closing.still_closing_on(date(2026, 11, 1)) == date(2026, 12, 4)
    assert closing.closing_period_month(date(2026, 12, 4)) == date(2026, 11, 1)
    assert closing.closing_period_month(date(2026, 12, 5)) is None


def test_registry_json_has_the_shipped_shape_and_reads_back(db, settings, tmp_path):
    add(date(2026, 8, 1), date(2026, 9, 6), ClosingSource.DISCOVERED)

    exported = registry_json()
    path = tmp_path / "merged.json"
    path.write_text(json.dumps(exported))

    months = exported["months"]
    assert months[0] == {"dataMonth": "2017-01", "closingDate": "2017-02-08"}
    assert months[-1] == {"dataMonth": "2026-08", "closingDate": "2026-09-06"}
    assert [m["dataMonth"] for m in months] == sorted(m["dataMonth"] for m in months)
    MonthEndClosing.objects.all().delete()
    closing.clear_cache()
    settings.CLOSING_DATES_FILE = str(path)
    assert closing_date_for(date(2026, 8, 1)) == date(2026, 9, 6)
