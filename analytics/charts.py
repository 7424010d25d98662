"""The server-rendered SVG chart of a district's analytics page.

The geometry is computed here, as plain numbers and preformatted coordinates; the template
(`analytics/templates/admin/analytics/_chart.html`) only draws it. No charting library: a line
chart of two metrics over a program year, each on its own y axis (active members count in
thousands, distinguished clubs in tens: on one axis the second would be a flat line), with dates
along x, month ticks, a legend and a tooltip (`<title>`) on every point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

# In SVG units; the chart scales to its panel (about 850 px wide at a 1280 px window).
WIDTH, HEIGHT = 960, 380
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 84, 84, 48, 50
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Readable on the admin's light and dark backgrounds.
LEFT_COLOUR, RIGHT_COLOUR = "#1e88e5", "#ef6c00"


@dataclass(frozen=True)
class Tick:
    at: str  # the coordinate along its axis, formatted for the SVG
    label: str


@dataclass(frozen=True)
class Marker:
    cx: str
    cy: str
    title: str  # the tooltip: date and value


@dataclass(frozen=True)
class SeriesInput:
    key: str
    label: str
    values: Sequence[int | float | None]  # one per date; None = no value that day
    include_zero: bool = False


@dataclass(frozen=True)
class ChartSeries:
    key: str
    label: str
    colour: str
    axis: Literal["left", "right"]
    lines: tuple[str, ...]  # polyline point lists; a missing value breaks the line
    markers: tuple[Marker, ...]  # one per value
    ticks: tuple[Tick, ...]
    legend_x: int


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: tuple[Tick, ...]
    series: tuple[ChartSeries, ...]

    @property
    def empty(self) -> bool:
        return not any(s.markers for s in self.series)

    @property
    def grid(self) -> tuple[Tick, ...]:
        """Horizontal grid lines: the left axis's ticks."""
        return self.series[0].ticks if self.series else ()

    @property
    def middle(self) -> int:
        return (self.top + self.bottom) // 2

    @property
    def centre(self) -> int:
        return (self.left + self.right) // 2

    @property
    def axis_label_y(self) -> int:
        return self.bottom + 44


def district_chart(document: dict[str, Any]) -> LineChart:
    """Active members and total distinguished clubs of a district time-series document, over
    its program year (July to June; wider when a point falls outside it)."""
    points = document.get("series") or []
    dates = [date.fromisoformat(p["date"]) for p in points]
    start_year = int(str(document["programYear"])[:4])
    first = min([date(start_year, 7, 1), *dates])
    last = max([date(start_year + 1, 6, 30), *dates])
    return line_chart(
        title=f"District {document.get('districtId')}, program year {document['programYear']}: "
        "active members and distinguished clubs",
        first=first,
        last=last,
        dates=dates,
        left=SeriesInput(
            key="activeMembers",
            label="Active members",
            values=[(p.get("membership") or {}).get("active") for p in points],
        ),
        right=SeriesInput(
            key="totalDistinguished",
            label="Distinguished clubs",
            values=[(p.get("distinguishedClubs") or {}).get("total") for p in points],
            include_zero=True,
        ),
    )


def line_chart(
    *,
    title: str,
    first: date,
    last: date,
    dates: Sequence[date],
    left: SeriesInput,
    right: SeriesInput,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart:
    """Two series over the dates from `first` to `last`, `left` on the left axis and `right` on
    the right one. Raises ValueError when a series has not one value per date."""
    plot_left, plot_right = MARGIN_LEFT, width - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return plot_left + (day - first).days / span * (plot_right - plot_left)

    series = []
    for spec, axis, colour, legend_x in (
        (left, "left", LEFT_COLOUR, plot_left),
        (right, "right", RIGHT_COLOUR, plot_left + 280),
    ):
        if len(spec.values) != len(dates):
            raise ValueError(f"{spec.key}: {len(spec.values)} values for {len(dates)} dates")
        present = [v for v in spec.values if v is not None]
        lo, hi = min(present, default=0), max(present, default=0)
        if spec.include_zero:
            lo = min(lo, 0)
        ticks = nice_ticks(lo, hi)
        bottom_value, top_value = ticks[0], ticks[-1]

        def y_of(value: float, low=bottom_value, high=top_value) -> float:
            return plot_bottom - (value - low) / (high - low) * (plot_bottom - plot_top)

        lines, current, markers = [], [], []
        for day, value in zip(dates, spec.values, strict=True):
            if value is None:
                if current:
                    lines.append(" ".join(current))
                current = []
                continue
            cx, cy = _coordinate(x_of(day)), _coordinate(y_of(value))
            current.append(f"{cx},{cy}")
            markers.append(
                Marker(cx=cx, cy=cy, title=f"{day.isoformat()}: {spec.label} {_number(value)}")
            )
        if current:
            lines.append(" ".join(current))
        series.append(
            ChartSeries(
                key=spec.key,
                label=spec.label,
                colour=colour,
                axis=axis,
                lines=tuple(lines),
                markers=tuple(markers),
                ticks=tuple(Tick(at=_coordinate(y_of(t)), label=_number(t)) for t in ticks),
                legend_x=legend_x,
            )
        )
    return LineChart(
        title=title,
        width=width,
        height=height,
        left=plot_left,
        right=plot_right,
        top=plot_top,
        bottom=plot_bottom,
        x_ticks=tuple(
            Tick(at=_coordinate(x_of(month)), label=_month_label(month, is_first=i == 0))
            for i, month in enumerate(month_starts(first, last))
        ),
        series=tuple(series),
    )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` + 1 round tick values (steps of 1, 2 or 5 x 10^k, at least 1) from a
    multiple of the step at or below `low` to one at or above `high`."""
    if high <= low:
        low, high = low - 1, high + 1
    # Counts have no ticks between integers: the step is at least 1.
    raw = max((high - low) / count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    # A value too small beside the step divides to zero (-5e-324 / 200 == -0.0): the first or
    # last multiple must still enclose it.
    if start > low:
        start -= step
    if end < high:
        end += step
    return [start + i * step for i in range(round((end - start) / step) + 1)]


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s (when `first` is one) up to `last`."""
    month = first if first.day == 1 else _next_month(first)
    months = []
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_label(month: date, *, is_first: bool) -> str:
    # The year where it changes (January) and on the first tick.
    name = MONTHS[month.month - 1]
    return f"{name} {month.year}" if is_first or month.month == 1 else name


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
