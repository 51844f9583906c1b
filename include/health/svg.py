"""Plots as inline SVG, drawn here: no JavaScript and no chart library to download, so the
pages render inside the Airflow UI's iframe, offline, and in a screenshot.

``line_chart`` draws one or more series over the same days (a missing value breaks the line),
with an optional horizontal reference line (a threshold); ``bar_chart`` stacks counts per day.
Every point is a ``<circle>`` (a bar a ``<rect>``) with a ``<title>``: hovering shows the day
and the value. Text is escaped; colours come from ``PALETTE``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 44
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2")


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: Sequence[float | None]  # one per x label; None: no value that day
    color: str = PALETTE[0]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _y_range(values: list[float], reference: float | None, zero: bool) -> tuple[float, float, float]:
    """The y axis: every value and the reference inside, from 0 when ``zero`` and all are >= 0,
    widened to whole round steps (``nice_step``) so the grid lines fall on round numbers."""
    candidates = [*values, *([reference] if reference is not None else [])]
    low, high = min(candidates), max(candidates)
    if zero and low > 0:
        low = 0.0
    span = (high - low) or abs(high) or 1.0
    if not (zero and low == 0):
        low -= span * 0.08
    return round_range(low, high + span * 0.08)


def round_range(low: float, high: float) -> tuple[float, float, float]:
    """``[low, high]`` widened to multiples of its round step, and the step."""
    step = nice_step((high - low) / 4)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step, step


def nice_step(rough: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least ``rough``."""
    magnitude = 10 ** math.floor(math.log10(rough))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough * (1 - 1e-9))


def tick_label(value: float, step: float) -> str:
    """A grid value with as many decimals as its step has (0.8225 with step 0.0025, not 0.823);
    steps below 0.001 in scientific notation."""
    if abs(value) < 1e-3 * step:
        return "0"
    if step >= 1:
        return f"{value:,.0f}"
    if step < 1e-3:
        return f"{value:.1e}"
    decimals = len(f"{step:.6f}".rstrip("0").split(".")[1])
    return f"{value:.{decimals}f}"


def y_ticks(low: float, high: float, step: float) -> list[float]:
    """Grid values from ``low`` to ``high`` (multiples of ``step``, from ``round_range``)."""
    return [round(low + k * step, 12) for k in range(round((high - low) / step) + 1)]


class _Frame:
    """The plot area: days on x (evenly spaced), values on y."""

    def __init__(self, n: int, low: float, high: float, step: float) -> None:
        self.n, self.low, self.high, self.step = n, low, high, step
        self.width, self.height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(self, i: int) -> float:
        return LEFT + (self.width * (i + 0.5) / self.n)

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - (value - self.low) / (self.high - self.low))


def _axes(frame: _Frame, labels: Sequence[str], title: str) -> list[str]:
    parts = [
        f'<text x="8" y="18" class="title" font-size="14" font-weight="600">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + frame.height}" x2="{WIDTH - RIGHT}" y2="{TOP + frame.height}" '
        'stroke="#9ca3af"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + frame.height}" stroke="#9ca3af"/>',
    ]
    for value in y_ticks(frame.low, frame.high, frame.step):  # y grid and labels, on round numbers
        y = frame.y(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        label = tick_label(value, frame.step)
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{label}</text>')
    step = max(1, -(-len(labels) // 6))  # at most about six day labels
    for i in range(0, len(labels), step):
        parts.append(
            f'<text x="{frame.x(i):.1f}" y="{TOP + frame.height + 16}" font-size="11" '
            f'text-anchor="middle">{escape(labels[i][5:] if len(labels[i]) == 10 else labels[i])}</text>'
        )
    return parts


def _legend(series: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], LEFT
    for name, color in series:
        parts.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return parts


def _svg(title: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="chart" font-family="sans-serif">\n{body}\n</svg>'
    )


def empty_chart(title: str, message: str) -> str:
    return _svg(
        title,
        [
            f'<text x="8" y="18" font-size="14" font-weight="600">{escape(title)}</text>',
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" font-size="12" fill="#6b7280" text-anchor="middle">'
            f"{escape(message)}</text>",
        ],
    )


def _line(frame: _Frame, labels: Sequence[str], series: ChartSeries) -> list[str]:
    parts: list[str] = []
    segment: list[tuple[float, float]] = []
    for i, value in enumerate(series.values):
        if value is None:
            if len(segment) > 1:
                parts.append(_polyline(segment, series.color))
            segment = []
            continue
        point = (frame.x(i), frame.y(value))
        segment.append(point)
        parts.append(
            f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3" fill="{series.color}">'
            f"<title>{escape(series.name)} {escape(labels[i])}: {_fmt(value)}</title></circle>"
        )
    if len(segment) > 1:
        parts.append(_polyline(segment, series.color))
    return parts


def _polyline(points: list[tuple[float, float]], color: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[ChartSeries],
    reference: float | None = None,
    reference_name: str = "threshold",
    zero: bool = True,
    empty: str = "no data yet",
) -> str:
    """Lines over ``labels`` (days); ``reference``: a dashed horizontal line (e.g. a threshold);
    ``empty``: what the plot says without a value."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return empty_chart(title, empty)
    frame = _Frame(len(labels), *_y_range(values, reference, zero))
    parts = _axes(frame, labels, title)
    if reference is not None:
        y = frame.y(reference)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#6b7280" '
            f'stroke-dasharray="5 4"><title>{escape(reference_name)}: {_fmt(reference)}</title></line>'
        )
    for s in series:
        parts += _line(frame, labels, s)
    legend = [(s.name, s.color) for s in series]
    if reference is not None:
        legend.append((f"{reference_name} {_fmt(reference)}", "#6b7280"))
    return _svg(title, parts + _legend(legend))


def bar_chart(title: str, labels: Sequence[str], series: Sequence[ChartSeries]) -> str:
    """Stacked bars of counts per day (None counts as 0)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    if not labels or not any(totals):
        return empty_chart(title, "no data yet")
    frame = _Frame(len(labels), *round_range(0.0, max(totals) * 1.08))
    parts = _axes(frame, labels, title)
    bar = max(2.0, min(28.0, frame.width / len(labels) * 0.7))
    for i, label in enumerate(labels):
        base = 0.0
        for s in series:
            value = float(s.values[i] or 0)
            if value <= 0:
                continue
            top, bottom = frame.y(base + value), frame.y(base)
            parts.append(
                f'<rect x="{frame.x(i) - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill="{s.color}">'
                f"<title>{escape(s.name)} {escape(label)}: {_fmt(value)}</title></rect>"
            )
            base += value
    return _svg(title, parts + _legend([(s.name, s.color) for s in series]))
