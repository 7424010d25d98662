"""The Operations page's small server-rendered SVG charts, as in analytics/charts.py: the
geometry is computed here as preformatted numbers; the templates
(`monitoring/templates/admin/monitoring/_bars.html`, `_requests.html`) only draw it. Colours
are the analytics page's, readable on the admin's light and dark backgrounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from analytics.charts import LEFT_COLOUR, RIGHT_COLOUR, nice_ticks

BAR_WIDTH, BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, VALUE_WIDTH = 680, 18, 6, 190, 70
LINE_WIDTH, LINE_HEIGHT = 960, 300
LINE_LEFT, LINE_RIGHT, LINE_TOP, LINE_BOTTOM = 64, 56, 36, 44
LIMIT_COLOUR = "#d32f2f"


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: str
    value: str
    text_y: int


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]
    colour: str

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(
    title: str,
    values: Sequence[tuple[str, float | None]],
    *,
    maximum: float | None = None,
    suffix: str = "",
    colour: str = LEFT_COLOUR,
) -> BarChart:
    """Horizontal bars, one per (label, value) in order; `maximum` is the full width (default
    the largest value). Values of None are left out."""
    present = [(label, value) for label, value in values if value is not None]
    top = maximum or max((v for _, v in present), default=0) or 1
    span = BAR_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value) in enumerate(present):
        y = index * (BAR_HEIGHT + BAR_GAP)
        bars.append(
            Bar(
                label=label,
                y=y,
                width=f"{max(value, 0) / top * span:.1f}",
                value=f"{value:g}{suffix}",
                text_y=y + BAR_HEIGHT - 4,
            )
        )
    return BarChart(
        title=title,
        width=BAR_WIDTH,
        height=max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP),
        label_width=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
        bars=tuple(bars),
        colour=colour,
    )


@dataclass(frozen=True)
class Tick:
    at: str
    label: str


@dataclass(frozen=True)
class RequestsChart:
    title: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    average: str  # polyline points
    peak: str
    limit_y: str
    limit: str  # requests per minute, as shown
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    average_colour: str = LEFT_COLOUR
    peak_colour: str = RIGHT_COLOUR
    limit_colour: str = LIMIT_COLOUR

    @property
    def empty(self) -> bool:
        return not self.average


def requests_chart(
    buckets: Sequence[tuple[datetime, int, float, int]], limit: float, *, title: str
) -> RequestsChart:
    """Average and busiest minute per bucket against the configured limit (a line across)."""
    left, right = LINE_LEFT, LINE_WIDTH - LINE_RIGHT
    top, bottom = LINE_TOP, LINE_HEIGHT - LINE_BOTTOM
    ticks = nice_ticks(0, max([limit, *(b[3] for b in buckets)]))
    high = ticks[-1] or 1
    count = max(len(buckets) - 1, 1)

    def x_of(index: int) -> float:
        return left + index / count * (right - left)

    def y_of(value: float) -> float:
        return bottom - value / high * (bottom - top)

    average = " ".join(f"{x_of(i):.1f},{y_of(b[2]):.1f}" for i, b in enumerate(buckets))
    peak = " ".join(f"{x_of(i):.1f},{y_of(b[3]):.1f}" for i, b in enumerate(buckets))
    step = max(len(buckets) // 6, 1)
    x_ticks = tuple(
        Tick(at=f"{x_of(i):.1f}", label=buckets[i][0].strftime("%m-%d %H:%M"))
        for i in range(0, len(buckets), step)
    )
    return RequestsChart(
        title=title,
        width=LINE_WIDTH,
        height=LINE_HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        average=average,
        peak=peak,
        limit_y=f"{y_of(limit):.1f}",
        limit=f"{limit:g}",
        y_ticks=tuple(Tick(at=f"{y_of(t):.1f}", label=f"{t:g}") for t in ticks),
        x_ticks=x_ticks,
    )
