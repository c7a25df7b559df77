"""The training curve as an inline SVG: pure strings, every label escaped, no script, no font."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]
    css_class: str  # colour comes from the page's CSS


@dataclass(frozen=True)
class Marker:
    label: str
    value: float  # x for an epoch marker (1-based), y for a threshold
    css_class: str


def _x(epoch: float, epochs: int) -> float:
    span = max(epochs - 1, 1)
    return LEFT + (epoch - 1) / span * (WIDTH - LEFT - RIGHT)


def _y(value: float, low: float, high: float) -> float:
    return TOP + (high - value) / (high - low or 1) * (HEIGHT - TOP - BOTTOM)


def line_chart(title: str, series: list[Series], epochs: int, thresholds: list[Marker], epoch_marks: list[Marker], x_label: str) -> str:
    """An SVG chart of `series` over epochs 1..`epochs` (at least the largest epoch mark)."""
    epochs = max([epochs, *(int(m.value) for m in epoch_marks), 1])
    values = [v for s in series for v in s.values if v is not None] + [m.value for m in thresholds]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.08 or 0.05
    low, high = max(0.0, low - pad) if low >= 0 else low - pad, high + pad
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
    ]
    for i in range(5):
        value = low + (high - low) * i / 4
        y = _y(value, low, high)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    step = max(1, epochs // 10)
    for epoch in range(1, epochs + 1, step):
        parts.append(f'<text class="tick" x="{_x(epoch, epochs):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{epoch}</text>')
    parts.append(f'<text class="tick" x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>')
    for mark in thresholds:
        y = _y(mark.value, low, high)
        parts.append(f'<line class="{escape(mark.css_class)}" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="label {escape(mark.css_class)}-text" x="{LEFT + 6}" y="{y - 5:.1f}" text-anchor="start">{escape(mark.label)}</text>')
    for mark in epoch_marks:
        x = _x(mark.value, epochs)
        parts.append(f'<line class="{escape(mark.css_class)}" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"/>')
        parts.append(f'<text class="label {escape(mark.css_class)}-text" x="{x - 4:.1f}" y="{HEIGHT - BOTTOM - 6}" text-anchor="end">{escape(mark.label)}</text>')
    for s in series:
        points = [(_x(i + 1, epochs), _y(v, low, high)) for i, v in enumerate(s.values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline class="{escape(s.css_class)}" fill="none" points="{path}"><title>{escape(s.label)}</title></polyline>')
            parts += [f'<circle class="{escape(s.css_class)}-dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in points]
    parts.append("</svg>")
    return "\n".join(parts)
