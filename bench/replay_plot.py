"""The learning replay's plot: MRR@10 against events, one line per scenario, as a plain SVG
(no plotting library in the product's dependencies)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 40, 60
COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b")


def _x(events: int, most: int) -> float:
    """Log scale with 0 events at the left edge (drawn where 1 would be)."""
    span = math.log10(max(most, 10))
    return LEFT + (WIDTH - LEFT - RIGHT) * math.log10(max(events, 1)) / span


def _y(mrr: float, low: float, high: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (high - mrr) / (high - low)


def svg(result: dict[str, Any]) -> str:
    """Paraphrase MRR@10 (solid) and unseen-intent MRR@10 (dashed) per scenario."""
    scenarios: dict[str, Any] = result["scenarios"]
    series = {
        name: [
            (p["events"], p["paraphrases"]["mrr@10"], p["unseen"]["mrr@10"]) for p in s["points"]
        ]
        for name, s in scenarios.items()
    }
    values = [v for rows in series.values() for _, a, b in rows for v in (a, b)] or [0.0, 1.0]
    # Lifts are a few hundredths: the axis spans the data with a tick every .02.
    low = math.floor((min(values) - 0.01) * 50) / 50
    high = min(1.0, math.ceil((max(values) + 0.01) * 50) / 50)
    most = max((e for rows in series.values() for e, _, _ in rows), default=10)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="14">MRR@10 against agent events '
        f"({escape(str(result.get('set', '')))}, learning {escape(str(result.get('learning')))})"
        "</text>",
    ]
    for tick in range(round(low * 50), round(high * 50) + 1):
        y = _y(tick / 50, low, high)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tick / 50:.2f}</text>')
    for power in range(0, int(math.log10(max(most, 10))) + 1):
        x = _x(10**power, most)
        label = "0" if power == 0 else f"{10**power:,}"
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{label}</text>'
        )
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 18}" text-anchor="middle">'
        "events (agent turns: one suggestion and its clicks), log scale</text>"
    )
    for n, (name, rows) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        for column, dash in ((1, ""), (2, ' stroke-dasharray="5 4"')):
            points = " ".join(
                f"{_x(e, most):.1f},{_y(r[column - 1], low, high):.1f}" for e, *r in rows
            )
            out.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
        y = TOP + 20 * n
        out.append(f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 32}" y1="{y}" y2="{y}" '
                   f'stroke="{colour}" stroke-width="2"/>')  # fmt: skip
        out.append(f'<text x="{WIDTH - RIGHT + 38}" y="{y + 4}">{escape(name)}</text>')
    y = TOP + 20 * len(series) + 10
    out.append(f'<text x="{WIDTH - RIGHT + 12}" y="{y}">solid: paraphrases</text>')
    out.append(f'<text x="{WIDTH - RIGHT + 12}" y="{y + 16}">dashed: unseen intents</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_plot(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(result), encoding="utf-8")
