"""A bar chart drawn on the server: the geometry of an inline SVG, so pages need no script."""

import math
from dataclasses import dataclass

from .selectors import Series

WIDTH = 720
HEIGHT = 260
LEFT = 44  # room for the y-axis numbers
RIGHT = 8
TOP = 12
BOTTOM = 36  # room for the first and last dates
GAP = 0.2  # of a slot, between bars


@dataclass(frozen=True)
class BarShape:
    x: float
    y: float
    width: float
    height: float
    label: str
    count: int


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str
    anchor: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    label_y: float
    bars: list[BarShape]
    ticks: list[Tick]
    labels: list[AxisLabel]


def _scale_top(peak: int) -> int:
    """A round top for the y axis at or above ``peak`` (1, 2, 5, 10, 20, 50 …)."""
    if peak <= 1:
        return 1
    power = 10 ** math.floor(math.log10(peak))
    for step in (1, 2, 5, 10):
        if peak <= step * power:
            return step * power
    return 10 * power


def bar_chart(series: Series, *, box_height: int = HEIGHT) -> Chart | None:
    """``box_height`` in the units of the 720-wide view box: a lower chart for the dashboard home."""
    if not series.bars:
        return None
    top = _scale_top(series.peak)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = box_height - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / len(series.bars)
    bar_width = max(slot * (1 - GAP), 1)
    bars = []
    for i, bar in enumerate(series.bars):
        height = plot_height * bar.count / top
        x = LEFT + i * slot + (slot - bar_width) / 2
        bars.append(
            BarShape(
                round(x, 2), round(baseline - height, 2), round(bar_width, 2), round(height, 2), bar.label, bar.count
            )
        )
    ticks = [Tick(round(baseline - plot_height * v / top, 2), v) for v in sorted({0, top // 2, top})]
    first, last = series.bars[0], series.bars[-1]
    labels = [AxisLabel(LEFT, first.label, "start")]
    if len(series.bars) > 1:
        labels.append(AxisLabel(WIDTH - RIGHT, last.label, "end"))
    return Chart(WIDTH, box_height, LEFT, WIDTH - RIGHT, baseline, baseline + 22, bars, ticks, labels)
