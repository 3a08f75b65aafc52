"""Server-rendered SVG bar charts for the console dashboard (no JavaScript, no build step)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

# Colour-blind-safe palette (Okabe-Ito), one per series in a fixed order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

_W, _H = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 150, 16, 36


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return step * 4 if value else 4
    return value


def stacked_bars(title: str, table: Mapping[str, Mapping[str, int]], series: Sequence[str]) -> str:
    """Columns per key (e.g. month), stacked by series (e.g. category), with a legend and a table
    fallback in <desc> for screen readers."""
    keys = list(table)
    totals = [sum(table[k].get(s, 0) for s in series) for k in keys]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / max(len(keys), 1)
    bar_w = slot * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" class="chart">',
        f"<title>{escape(title)}</title>",
        "<desc>"
        + escape("; ".join(f"{k}: " + ", ".join(f"{s} {table[k].get(s, 0)}" for s in series) for k in keys))
        + "</desc>",
    ]
    for i in range(5):
        value = top * i // 4
        y = _TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value}</text>')
    for index, key in enumerate(keys):
        x = _LEFT + slot * index + (slot - bar_w) / 2
        y = _TOP + plot_h
        for s_index, name in enumerate(series):
            count = table[key].get(name, 0)
            if not count:
                continue
            height = plot_h * count / top
            y -= height
            colour = PALETTE[s_index % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(key)} {escape(name)} {count}건</title></rect>"
            )
        label_x = _LEFT + slot * index + slot / 2
        parts.append(
            f'<text x="{label_x:.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle" class="tick">{escape(key)}</text>'
        )
        if totals[index]:
            parts.append(
                f'<text x="{label_x:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="total">{totals[index]}</text>'
            )
    for s_index, name in enumerate(series):
        y = _TOP + 8 + s_index * 20
        colour = PALETTE[s_index % len(PALETTE)]
        parts.append(f'<rect x="{_W - _RIGHT + 16}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{_W - _RIGHT + 34}" y="{y}" class="legend">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(title: str, counts: Mapping[str, int], label: str) -> str:
    return stacked_bars(title, {key: {label: value} for key, value in counts.items()}, [label])
