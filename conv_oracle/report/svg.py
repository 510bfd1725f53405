"""Inline SVG heatmaps of coverage counts: one square per cell, zero cells (skipped / bias-only)
hatched in amber, touched cells in blues that darken with the number of contributions."""

from __future__ import annotations

from html import escape

UNTOUCHED = "#f9d67a"
HATCH = "#c98a00"
BLUES = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def fill(count: int, top: int) -> str:
    """Colour of a cell with ``count`` contributions when the largest count is ``top``."""
    if count <= 0:
        return UNTOUCHED
    if top <= 1:
        return BLUES[3]
    return BLUES[round((count - 1) / (top - 1) * (len(BLUES) - 1))]


def _cell_size(rows: int, cols: int) -> int:
    side = max(rows, cols)
    return 26 if side <= 12 else 18 if side <= 24 else 10


def heatmap(counts: list[list[int]], uid: str, zero_label: str, unit: str = "contributions") -> str:
    """``counts`` (rows of ints) as an SVG with row / column indices, per-cell tooltips and a legend.

    ``uid`` makes the hatch pattern's id unique on the page; ``zero_label`` names a zero cell."""
    rows, cols = len(counts), len(counts[0]) if counts else 0
    c = _cell_size(rows, cols)
    top = max((v for row in counts for v in row), default=0)
    left, head = 24, 18
    legend_y = head + rows * c + 10
    legend_text = f"1 {unit.rstrip('s')}" if top <= 1 else f"1..{top} {unit}"
    width = max(left + cols * c + 4, left + 16 + 7 * len(zero_label) + 30 + 7 * len(legend_text) + 8)
    height = legend_y + 22
    pid = f"hatch-{escape(uid)}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(zero_label)} map, {rows}x{cols}">',
           f'<defs><pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" '
           f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{UNTOUCHED}"/>'
           f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH}" stroke-width="1.5"/></pattern></defs>']
    font = max(8, c // 2)
    show_numbers = c >= 18
    for j in range(cols):
        out.append(f'<text x="{left + j * c + c / 2:.1f}" y="{head - 5}" font-size="9" text-anchor="middle" '
                   f'fill="#555">{j}</text>')
    for i, row in enumerate(counts):
        y = head + i * c
        out.append(f'<text x="{left - 4}" y="{y + c / 2 + 3:.1f}" font-size="9" text-anchor="end" '
                   f'fill="#555">{i}</text>')
        for j, v in enumerate(row):
            x = left + j * c
            colour = f"url(#{pid})" if v <= 0 else fill(v, top)
            tip = f"[{i}, {j}]: {zero_label}" if v <= 0 else f"[{i}, {j}]: {v} {unit}"
            out.append(f'<rect x="{x}" y="{y}" width="{c}" height="{c}" fill="{colour}" stroke="#fff" '
                       f'stroke-width="1"><title>{escape(tip)}</title></rect>')
            if show_numbers and v > 0:
                ink = "#fff" if fill(v, top) in BLUES[4:] else "#123"
                out.append(f'<text x="{x + c / 2:.1f}" y="{y + c / 2 + font / 3:.1f}" font-size="{font}" '
                           f'text-anchor="middle" fill="{ink}">{v}</text>')
    out.append(f'<rect x="{left}" y="{legend_y}" width="12" height="12" fill="url(#{pid})"/>'
               f'<text x="{left + 16}" y="{legend_y + 10}" font-size="11" fill="#333">{escape(zero_label)}</text>')
    lx = left + 16 + 7 * len(zero_label) + 14
    out.append(f'<rect x="{lx}" y="{legend_y}" width="12" height="12" fill="{BLUES[3]}"/>'
               f'<text x="{lx + 16}" y="{legend_y + 10}" font-size="11" fill="#333">{escape(legend_text)}</text>')
    out.append("</svg>")
    return "".join(out)
