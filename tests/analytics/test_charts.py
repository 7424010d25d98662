"""analytics/charts.py: the geometry of the district chart (plain numbers, no database)."""

from __future__ import annotations

import itertools
import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics import charts
from tests.fixtures.analytics import days, district_series_document


def chart_of(values_left, values_right, dates=None):
    dates = dates or [date(2024, 7, 1 + i) for i in range(len(values_left))]
    return charts.line_chart(
        title="t",
        first=date(2024, 7, 1),
        last=date(2025, 6, 30),
        dates=dates,
        left=charts.SeriesInput(key="a", label="A", values=values_left),
        right=charts.SeriesInput(key="b", label="B", values=values_right, include_zero=True),
    )


def xy(marker: charts.Marker) -> tuple[float, float]:
    return float(marker.cx), float(marker.cy)


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_nice_ticks_cover_the_range_in_round_steps(low, width):
    ticks = charts.nice_ticks(low, low + width)
    assert ticks[0] <= low and ticks[-1] >= low + width
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    assert step >= 1
    assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5)  # x 10^k
    assert 2 <= len(ticks) <= 12


def test_higher_values_are_drawn_higher_and_later_dates_further_right():
    chart = chart_of([100, 300, 200], [0, 5, 10])
    a = [xy(m) for m in chart.series[0].markers]
    assert a[0][0] < a[1][0] < a[2][0]
    assert a[1][1] < a[2][1] < a[0][1]  # SVG y grows downwards
    for x, y in a + [xy(m) for m in chart.series[1].markers]:
        assert chart.left <= x <= chart.right and chart.top <= y <= chart.bottom


def test_a_missing_value_breaks_the_line_and_has_no_marker():
    chart = chart_of([1, 2, 3, 4], [1, None, 3, 4])
    left, right = chart.series
    assert (len(left.lines), len(left.markers)) == (1, 4)
    assert (len(right.lines), len(right.markers)) == (2, 3)
    assert right.markers[0].title == "2024-07-01: B 1"


def test_the_right_axis_starts_at_zero_and_the_left_one_hugs_the_values():
    chart = chart_of([5120, 5300, 5990], [3, 4, 9])
    assert chart.series[0].ticks[0].label == "5,000" and chart.series[0].ticks[-1].label == "6,000"
    assert chart.series[1].ticks[0].label == "0"


def test_a_series_without_values_makes_an_empty_chart():
    assert chart_of([None, None], [None, None]).empty
    assert not chart_of([None, 1], [None, None]).empty


def test_a_series_needs_one_value_per_date():
    with pytest.raises(ValueError, match="2 values for 3 dates"):
        chart_of([1, 2], [1, 2, 3], dates=[date(2024, 7, 1), date(2024, 7, 2), date(2024, 7, 3)])


def test_months_are_labelled_along_x_with_the_year_where_it_changes():
    chart = chart_of([1], [1])
    assert [t.label for t in chart.x_ticks] == [
        "Jul 2024", "Aug", "Sep", "Oct", "Nov", "Dec",
        "Jan 2025", "Feb", "Mar", "Apr", "May", "Jun",
    ]  # fmt: skip
    assert float(chart.x_ticks[0].at) == chart.left


def test_the_district_chart_spans_the_program_year_and_plots_both_metrics():
    document = district_series_document(
        district_id="42",
        program_year="2024-2025",
        dates=days(date(2024, 7, 1), date(2024, 9, 30)),
        blank=[date(2024, 8, 1)],
    )
    chart = charts.district_chart(document)
    members, distinguished = chart.series
    assert (members.key, distinguished.key) == ("activeMembers", "totalDistinguished")
    assert len(members.markers) == 92 and len(distinguished.markers) == 91
    assert chart.x_ticks[-1].label == "Jun"  # the whole program year, not just the data
    assert "District 42, program year 2024-2025" in chart.title
