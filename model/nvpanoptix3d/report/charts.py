"""Inline SVG line charts for the report (no JavaScript, no network)."""

from __future__ import annotations

import math
from html import escape
from typing import Sequence

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:.3g}"


def line_chart(series: dict[str, Sequence[tuple[float, float]]], *, title: str, xlabel: str = "step",
               width: int = 520, height: int = 240, log_y: bool = False) -> str:
    """An SVG chart of named (x, y) series; points with a non-finite y are skipped. Empty series give ''."""
    clean = {k: [(float(x), float(y)) for x, y in pts if y is not None and math.isfinite(float(y))
                 and (not log_y or float(y) > 0)] for k, pts in series.items()}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        return ""
    tf = (lambda y: math.log10(y)) if log_y else (lambda y: y)  # noqa: E731
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [tf(y) for pts in clean.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:  # a constant series (e.g. a flat learning rate): a band of +-10 % around it
        pad = abs(y0) * 0.1 or 0.5
        y0, y1 = y0 - pad, y1 + pad
    integer_x = all(float(x).is_integer() for x in xs)
    legend_rows = -(-len(clean) // 4)
    left, right, top, bottom = 56, 12, 24 + 13 * legend_rows, 34
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (tf(y) - y0) / (y1 - y0)) * ph

    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#d1d5db"/>']
    for t in _ticks(y0, y1):
        y = top + (1 - (t - y0) / (y1 - y0)) * ph
        label = _fmt(10 ** t if log_y else t)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f3"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    for t in _ticks(x0, x1):
        x = left + (t - x0) / (x1 - x0) * pw
        label = str(int(round(t))) if integer_x else _fmt(t)
        out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle" class="tick">{label}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" class="tick">{escape(xlabel)}</text>')
    for i, (name, pts) in enumerate(clean.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{coords}">'
                   f'<title>{escape(name)}</title></polyline>')
        if len(pts) <= 40:
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{color}"><title>{escape(name)} '
                    f'{_fmt(x)}: {_fmt(y)}</title></circle>' for x, y in pts]
        lx = left + (i % 4) * (pw // 4)
        ly = 24 + 13 * (i // 4) + 8  # legend rows between the title and the plot
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="3" fill="{color}"/>'
                   f'<text x="{lx + 14}" y="{ly - 4}" class="legend">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
