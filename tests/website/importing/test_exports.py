"""A site district file's raw rows turned back into exports (website/importing/exports.py)."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from districts.dashboard.csv import Footer, parse_export
from districts.dashboard.reports import ReportType
from tests.fixtures.site_tree import raw_rows, simulated_exports
from website.importing.exports import render_export
from website.importing.site_files import RefusedFile

DAY = date(2025, 3, 10)
FOOTER = Footer(data_month=date(2025, 3, 1), as_of=DAY)
CLUB_ROWS = raw_rows(simulated_exports("21", DAY)[ReportType.CLUB_PERFORMANCE])
# Names are free text (DOMAIN.md section 3): quotes, commas, runs of spaces, line breaks.
NAMES = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)


def test_the_exports_rows_are_the_dashboards_bytes():
    data = simulated_exports("21", DAY)[ReportType.CLUB_PERFORMANCE]

    assert render_export(CLUB_ROWS, FOOTER, field="clubPerformance") == data


@settings(max_examples=60, deadline=None)
@given(names=st.lists(NAMES, min_size=1, max_size=5))
def test_any_club_name_comes_back_as_written(names):
    rows = [{**row, "Club Name": name} for row, name in zip(CLUB_ROWS, names, strict=False)]

    parsed = parse_export(render_export(rows, FOOTER, field="clubPerformance"))

    assert [row["club_name"] for row in parsed.rows] == names


@pytest.mark.parametrize(
    ("value", "text"),
    [(5, "5"), (5.0, "5"), (12.5, "12.5"), (-3, "-3"), (None, ""), ("007", "007")],
)
def test_a_typed_cell_is_written_as_javascript_prints_it(value, text):
    rows = [{**CLUB_ROWS[0], "Goals Met": value}]

    data = render_export(rows, FOOTER, field="clubPerformance").decode()

    header, row = (next(csv.reader([line])) for line in data.splitlines()[:2])
    assert row[header.index("Goals Met")] == text


def test_rows_without_a_header_or_with_other_columns_are_refused():
    with pytest.raises(RefusedFile, match="clubPerformance has no rows"):
        render_export([], FOOTER, field="clubPerformance")
    extra = [CLUB_ROWS[0], {**CLUB_ROWS[1], "Extra": "1"}]
    with pytest.raises(
        RefusedFile, match=r"row 2 has other columns than the first row: \['Extra'\]"
    ):
        render_export(extra, FOOTER, field="clubPerformance")
