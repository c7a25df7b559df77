"""The training curve as inline SVG: a pure builder, every text escaped, no script, no font, no request.

`training_chart` draws training accuracy (left axis, solid, in percent) and loss (right axis, dashed)
per epoch, with the assignment's threshold, the epoch limit and the epoch where training stopped
marked. Every word comes from the caller (`labels`), so the chart speaks the report's language.
The report draws it twice, wide and narrow, and CSS shows the one that fits the screen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from markupsafe import Markup, escape

MAX_POINTS = 400  # more epochs than this are thinned out (the table beside the chart keeps every one)
ACC, LOSS, THRESHOLD, LIMIT, STOP = "#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9"
GRID, INK = "#d4d4d8", "#27272a"
HALO = ' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'  # labels stay legible over lines
LABEL_KEYS = ("title", "desc", "accuracy", "loss", "epoch", "threshold", "limit", "stopped", "fit")


@dataclass(frozen=True)
class Point:
    epoch: int  # 1-based, counted over every fit
    accuracy: float | None
    loss: float | None


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    left: int = 56
    right: int = 56
    top: int = 50
    bottom: int = 44
    font: int = 13
    axis_titles: bool = True  # rotated axis names (the narrow chart leaves them to the legend)

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


WIDE = Size(720, 350, left=70, top=62)
NARROW = Size(360, 310, left=44, right=38, top=76, bottom=40, font=12, axis_titles=False)


def training_chart(
    points: Sequence[Point],
    labels: Mapping[str, str],
    *,
    threshold: float | None = None,
    threshold_on: str = "accuracy",  # or "loss": which axis the threshold belongs to
    max_epochs: int | None = None,
    stop_epoch: int | None = None,
    fit_starts: Sequence[int] = (),
    size: Size = WIDE,
    chart_id: str = "curve",
) -> Markup:
    """One `<svg>` element; empty when there is nothing to draw."""
    points = _thin([p for p in points if _finite(p.accuracy) or _finite(p.loss)])
    if not points:
        return Markup("")
    s = size
    n = max(p.epoch for p in points)
    limit_inside = bool(max_epochs and max_epochs <= 2 * n + 2)  # else the limit is only named, at the right
    x_max = max(n, max_epochs if limit_inside and max_epochs else 0, 2)
    accs = [p.accuracy for p in points if _finite(p.accuracy)]
    losses = [p.loss for p in points if _finite(p.loss)]
    on_loss = threshold is not None and threshold_on == "loss"
    a_lo, a_hi, a_step = _accuracy_axis(accs + ([threshold] if threshold is not None and not on_loss else []))
    l_hi, l_step = _loss_axis(losses + ([threshold] if on_loss and threshold is not None else []))

    def x(epoch: float) -> float:
        return s.left + (epoch - 1) / (x_max - 1) * s.plot_w

    def ya(v: float) -> float:
        return s.top + (a_hi - min(max(v, a_lo), a_hi)) / (a_hi - a_lo) * s.plot_h

    def yl(v: float) -> float:
        return s.top + (l_hi - min(max(v, 0.0), l_hi)) / l_hi * s.plot_h

    right, bottom = s.left + s.plot_w, s.top + s.plot_h
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    out = [
        (
            f'<svg class="chart" id="{chart_id}" viewBox="0 0 {s.width} {s.height}" role="img" aria-labelledby="{tid} {did}" '
            f'font-size="{s.font}" fill="{INK}" font-family="inherit">'
        ),
        f'<title id="{tid}">{escape(labels["title"])}</title><desc id="{did}">{escape(labels["desc"])}</desc>',
        f'<rect x="{s.left}" y="{s.top}" width="{s.plot_w}" height="{s.plot_h}" fill="#fff" stroke="{GRID}"/>',
    ]
    add = out.append
    late: list[str] = []  # labels, drawn over the curves (with a halo)
    if accs:
        for i in range(round((a_hi - a_lo) / a_step) + 1):
            v = a_lo + i * a_step
            add(_hline(s.left, right, ya(v), GRID, 0.8))
            add(f'<text x="{s.left - 5}" y="{ya(v) + 4:.1f}" text-anchor="end" fill="{ACC}">{_pct(v, a_step)}</text>')
        if s.axis_titles:
            add(_vlabel(12, s.top + s.plot_h / 2, labels["accuracy"], ACC))
    if losses:
        for i in range(round(l_hi / l_step) + 1):
            v = i * l_step
            if not accs:
                add(_hline(s.left, right, yl(v), GRID, 0.8))
            add(f'<text x="{right + 5}" y="{yl(v) + 4:.1f}" fill="{LOSS}">{_num(v, l_step)}</text>')
        if s.axis_titles:
            add(_vlabel(s.width - 6, s.top + s.plot_h / 2, labels["loss"], LOSS))
    every = max(1, math.ceil(x_max / max(2, s.plot_w // 42)))
    for e in range(1, x_max + 1):
        if (e - 1) % every == 0 or e == x_max:
            add(f'<line x1="{x(e):.1f}" x2="{x(e):.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="{INK}"/>')
            add(f'<text x="{x(e):.1f}" y="{bottom + 18}" text-anchor="middle">{e}</text>')
    add(f'<text x="{s.left + s.plot_w / 2:.1f}" y="{s.height - 5}" text-anchor="middle">{escape(labels["epoch"])}</text>')
    for k, start in enumerate(fit_starts[1:], start=2):
        if 1 < start <= x_max:
            xs = x(start - 0.5)
            add(f'<line x1="{xs:.1f}" x2="{xs:.1f}" y1="{s.top}" y2="{bottom}" stroke="#71717a" stroke-dasharray="2 3"/>')
            add(f'<text x="{xs + 3:.1f}" y="{bottom - 6}" font-size="{s.font - 2}">{escape(labels["fit"].format(n=k))}</text>')
    if threshold is not None:
        y = yl(threshold) if on_loss else ya(threshold)
        add(_hline(s.left, right, y, THRESHOLD, 1.6, "8 4"))
        ty = y + 14 if y < s.top + s.plot_h * 0.5 else y - 6
        late.append(f'<text x="{s.left + 5}" y="{ty:.1f}" fill="{THRESHOLD}" font-weight="600"{HALO}>{escape(labels["threshold"])}</text>')
    # The stop and the limit: lines across the plot, their labels above it (a second row if they would touch).
    marks = []
    if stop_epoch is not None and 1 <= stop_epoch <= x_max:
        marks.append((x(stop_epoch), labels["stopped"], STOP, "3 2", True))
    if max_epochs:
        marks.append((x(max_epochs), labels["limit"], LIMIT, "6 3", True) if limit_inside else (right, labels["limit"] + " →", LIMIT, "", False))
    taken: list[tuple[float, float]] = []
    for xv, label, colour, dash, line in marks:
        span = _label_span(s, xv, label)
        row = 1 if any(a < span[1] + 6 and span[0] < b + 6 for a, b in taken) else 0
        taken.append(span)
        line_svg, text_svg = _marker(s, xv, label, colour, dash, row, line)
        add(line_svg)
        late.append(text_svg)
    if losses:
        add(_polyline([(x(p.epoch), yl(p.loss)) for p in points if _finite(p.loss)], LOSS, "6 4"))
    if accs:
        add(_polyline([(x(p.epoch), ya(p.accuracy)) for p in points if _finite(p.accuracy)], ACC, None))
        if len(points) <= 60:
            out += [f'<circle cx="{x(p.epoch):.1f}" cy="{ya(p.accuracy):.1f}" r="3" fill="{ACC}"/>' for p in points if _finite(p.accuracy)]
    out += late + _legend(s, labels, bool(accs), bool(losses), threshold is not None)
    out.append("</svg>")
    return Markup("".join(out))


def _finite(v: object) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _thin(points: list[Point]) -> list[Point]:
    if len(points) <= MAX_POINTS:
        return points
    k = math.ceil(len(points) / MAX_POINTS)
    return points[::k] + ([points[-1]] if (len(points) - 1) % k else [])


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = max(span, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)


def _accuracy_axis(values: list[float]) -> tuple[float, float, float]:
    """From a rounded minimum up to at most 100%: zoomed in, so that 99.5% and 99.9% look apart."""
    values = [min(max(v, 0.0), 1.0) for v in values] or [0.0, 1.0]
    lo, hi = min(values), max(values)
    span = max(hi - lo, 0.004)
    step = _nice_step(span * 1.1)
    lo_axis = max(0.0, math.floor((lo - span * 0.04) / step) * step)
    hi_axis = min(1.0, math.ceil((hi + span * 0.02) / step) * step)
    if hi_axis - lo_axis < step:
        lo_axis = max(0.0, hi_axis - step)
    return round(lo_axis, 12), round(hi_axis, 12), step


def _loss_axis(values: list[float]) -> tuple[float, float]:
    hi = max([v for v in values if v > 0] or [1.0])
    step = _nice_step(hi, 4)
    return math.ceil(hi / step - 1e-9) * step, step


def _decimals(step: float) -> int:
    d = 0
    while d < 6 and abs(step * 10**d - round(step * 10**d)) > 1e-9:
        d += 1
    return d


def _pct(v: float, step: float) -> str:
    return f"{v * 100:.{max(0, _decimals(step) - 2)}f}%"


def _num(v: float, step: float) -> str:
    return f"{v:.{_decimals(step)}f}"


def _hline(x1: float, x2: float, y: float, colour: str, width: float, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="{width}"{d}/>'


def _polyline(coords: list[tuple[float, float]], colour: str, dash: str | None) -> str:
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.4" stroke-linejoin="round"{d}/>'


def _label_span(s: Size, xv: float, label: str) -> tuple[float, float]:
    width = _text_width(label, s.font)
    return (xv - 4 - width, xv - 4) if _anchored_end(s, xv) else (xv + 4, xv + 4 + width)


def _anchored_end(s: Size, xv: float) -> bool:
    return xv > s.left + s.plot_w * 0.55


def _marker(s: Size, xv: float, label: str, colour: str, dash: str, row: int, line: bool) -> tuple[str, str]:
    """(the vertical line, its label above the plot)."""
    anchor, dx = ("end", -4) if _anchored_end(s, xv) else ("start", 4)
    drawn = (
        f'<line x1="{xv:.1f}" x2="{xv:.1f}" y1="{s.top}" y2="{s.top + s.plot_h}" stroke="{colour}" stroke-width="1.8" stroke-dasharray="{dash}"/>'
        if line else ""
    )
    y = s.top - 7 - row * (s.font + 3)
    return drawn, f'<text x="{xv + dx:.1f}" y="{y}" text-anchor="{anchor}" fill="{colour}" font-weight="600"{HALO}>{escape(label)}</text>'


def _vlabel(xv: float, yv: float, text: str, colour: str) -> str:
    return f'<text transform="translate({xv:.1f} {yv:.1f}) rotate(-90)" text-anchor="middle" fill="{colour}">{escape(text)}</text>'


def _legend(s: Size, labels: Mapping[str, str], acc: bool, loss: bool, threshold: bool) -> list[str]:
    items = [(labels["accuracy"], ACC, "")] if acc else []
    items += [(labels["loss"], LOSS, "6 4")] if loss else []
    items += [(labels["threshold_legend"], THRESHOLD, "8 4")] if threshold and "threshold_legend" in labels else []
    parts, xv, row = [], float(s.left), 0
    for text, colour, dash in items:
        width = 30 + _text_width(text, s.font) + 18
        if xv + width > s.width - 4 and xv > s.left:  # wrap onto a second row
            xv, row = float(s.left), row + 1
        y = 16 + row * 18
        d = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{xv:.1f}" x2="{xv + 24:.1f}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" stroke-width="2.6"{d}/>')
        parts.append(f'<text x="{xv + 30:.1f}" y="{y}">{escape(text)}</text>')
        xv += width
    return parts


def _text_width(text: str, font: int) -> float:
    """Rough width: CJK characters are about twice as wide as Latin ones."""
    return sum(font * (1.0 if ord(ch) > 0x2E80 else 0.56) for ch in text)
