"""Growth plot: latency and memory against chunks (log scales), measured and projected.

Reads bench/results/scale.json (one `make bench-100k` run: 1k to 100k chunks) and writes
docs/growth.svg: on the left, p50 latency of one query embedding (E), HTTP search and suggest
(one client), and the in-process BM25 and FAISS stages; on the right, the server's resident
memory after warm-up (private and file-backed). Dashed lines project each series from the
largest measured size to 1M and 10M chunks by the model written in README "Speed" (``project``):
E constant, BM25 in proportion to the chunks (it scores every posting of the query's terms),
HNSW with log n, memory linear in the chunks (slope between the smallest and largest sizes).
Plain SVG, no plotting library; labelled with the machine and the share of real vectors.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "growth.svg"
PROJECTED = (1_000_000, 10_000_000)
HOST_MIB = 23.5 * 1024  # this machine's memory
W, H, PAD = 460, 320, 56  # one panel
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def series(run: dict[str, Any]) -> tuple[dict[str, list[tuple[int, float]]], dict[str, Any]]:
    """Measured p50 latencies (ms) and memory (MiB) per size, plus what the labels need."""
    lat: dict[str, list[tuple[int, float]]] = {}
    mem: dict[str, list[tuple[int, float]]] = {}
    real = total = 0
    for size, entry in sorted(run["sizes"].items(), key=lambda item: int(item[0])):
        n, serve, stages = int(size), entry["serve"], entry.get("stages", {})
        points = {
            "E (one query embedding)": entry["E"]["p50_ms"],
            "search, HTTP, 1 client": serve["search_1"]["p50_ms"],
            "suggest, HTTP, 1 client": serve.get("suggest_1", {}).get("p50_ms"),
            "BM25 (in-process)": stages.get("bm25", {}).get("p50_ms"),
            "FAISS, 1 thread (in-process)": stages.get("faiss_1_thread", {}).get("p50_ms"),
        }
        for name, value in points.items():
            if value:
                lat.setdefault(name, []).append((n, value))
        rss = serve["rss_after_warmup_mib"]
        mem.setdefault("private (anonymous)", []).append((n, rss["anon"]))
        mem.setdefault("file-backed (mapped index)", []).append((n, rss["file"]))
        real, total = real + entry["built"]["real_vectors"], total + n
        index = entry["built"]["vector_index"]
    return {**lat, **{"mem:" + k: v for k, v in mem.items()}}, {
        "real": real,
        "total": total,
        "largest_index": index,
    }


def project(name: str, points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The largest measured point carried to 1M and 10M chunks by the series' growth model."""
    (n0, v0), (n1, v1) = points[0], points[-1]
    out = [(n1, v1)]
    for n in PROJECTED:
        if name.startswith("mem:"):
            slope = (v1 - v0) / (n1 - n0)
            out.append((n, v1 + slope * (n - n1)))
        elif name.startswith("E "):
            out.append((n, v1))
        elif name.startswith("BM25"):
            out.append((n, v1 * n / n1))
        elif name.startswith("FAISS"):
            out.append((n, v1 * math.log(n) / math.log(n1)))
        else:  # a whole request: what it measured, plus what BM25 and HNSW add
            out.append((n, v1 + _extra(points, n)))
    return out


_GROWTH: dict[str, list[tuple[int, float]]] = {}


def _extra(points: list[tuple[int, float]], n: int) -> float:
    bm25, faiss = _GROWTH.get("BM25 (in-process)"), _GROWTH.get("FAISS, 1 thread (in-process)")
    n1 = points[-1][0]
    extra = bm25[-1][1] * (n / n1 - 1) if bm25 else 0.0
    if faiss:
        extra += faiss[-1][1] * (math.log(n) / math.log(n1) - 1)
    return extra


def panel(
    x0: int, title: str, unit: str, named: dict[str, list[tuple[int, float]]], limit: float = 0
) -> list[str]:
    """One log-log panel: measured series solid with dots, projections dashed; ``limit`` a
    horizontal line (the host's memory)."""
    lines = {name: (pts, project(name, pts)) for name, pts in named.items()}
    values = [v for pts, proj in lines.values() for _, v in pts + proj] + ([limit] if limit else [])
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    xs = (3, 7)  # 1k .. 10M chunks
    fx = lambda n: x0 + PAD + (math.log10(n) - xs[0]) / (xs[1] - xs[0]) * (W - 1.5 * PAD)  # noqa: E731
    fy = lambda v: H - PAD - (math.log10(v) - lo) / max(hi - lo, 1) * (H - 1.6 * PAD)  # noqa: E731
    out = [f'<text x="{x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">'
           f"{escape(title)}</text>"]  # fmt: skip
    for e in range(xs[0], xs[1] + 1):
        label = {3: "1k", 4: "10k", 5: "100k", 6: "1M", 7: "10M"}[e]
        x = fx(10**e)
        out.append(
            f'<line x1="{x:.1f}" y1="{PAD * 0.6}" x2="{x:.1f}" y2="{H - PAD}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{x:.1f}" y="{H - PAD + 16}" text-anchor="middle">{label}</text>')
    for e in range(lo, hi + 1):
        y = fy(10**e)
        out.append(f'<line x1="{fx(1e3):.1f}" y1="{y:.1f}" x2="{fx(1e7):.1f}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')  # fmt: skip
        out.append(f'<text x="{fx(1e3) - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{10**e:g}</text>")  # fmt: skip
    out.append(f'<text x="{x0 + 14}" y="{H / 2}" transform="rotate(-90 {x0 + 14} {H / 2})" '
               f'text-anchor="middle">{escape(unit)}</text>')  # fmt: skip
    out.append(f'<text x="{x0 + W / 2}" y="{H - PAD + 34}" text-anchor="middle">'
               "chunks (log scale); dashed: projected</text>")  # fmt: skip
    if limit:
        y = fy(limit)
        out.append(f'<line x1="{fx(1e3):.1f}" y1="{y:.1f}" x2="{fx(1e7):.1f}" y2="{y:.1f}" '
                   'stroke="#000" stroke-dasharray="2,3"/>')  # fmt: skip
        out.append(f'<text x="{fx(1e7) - 4:.1f}" y="{y + 14:.1f}" text-anchor="end">this '
                   f"host's memory ({limit / 1024:.1f} GiB)</text>")  # fmt: skip
    for i, (name, (pts, proj)) in enumerate(lines.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{fx(n):.1f},{fy(v):.1f}" for n, v in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [
            f'<circle cx="{fx(n):.1f}" cy="{fy(v):.1f}" r="3" fill="{colour}"/>' for n, v in pts
        ]
        dashed = " ".join(f"{fx(n):.1f},{fy(v):.1f}" for n, v in proj)
        out.append(f'<polyline points="{dashed}" fill="none" stroke="{colour}" '
                   'stroke-width="1.5" stroke-dasharray="5,4"/>')  # fmt: skip
        last = proj[-1]
        out.append(f'<text x="{x0 + PAD:.1f}" y="{H - PAD + 36 + 15 * (i + 1):.1f}" '
                   f'fill="{colour}">{escape(name.removeprefix("mem:"))} '
                   f"(10M: {last[1]:,.0f} {escape(unit.split()[0])})</text>")  # fmt: skip
    return out


def render(run: dict[str, Any]) -> str:
    named, info = series(run)
    _GROWTH.clear()
    _GROWTH.update(named)
    lat = {k: v for k, v in named.items() if not k.startswith("mem:")}
    mem = {k: v for k, v in named.items() if k.startswith("mem:")}
    m = run["machine"]
    caption = (
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, "
        f"commit {m['commit']}, shared with 7 other developers (load average 10-20): read the "
        f"shapes, not the seconds. Vectors: {info['real']:,} of {info['total']:,} real "
        "e5-small, the rest stand-ins (latency and memory only, no recall)."
    )
    legend = 15 * max(len(lat), len(mem)) + 40
    width, height = 2 * W + 20, H + legend + 44
    body = panel(0, "p50 latency against chunks", "ms (log scale)", lat)
    body += panel(W + 20, "server memory after warm-up", "MiB (log scale)", mem, HOST_MIB)
    words = caption.split(" ")
    half = len(words) // 2
    for i, line in enumerate((" ".join(words[:half]), " ".join(words[half:]))):
        y = H + legend + 8 + 15 * i
        body.append(f'<text x="10" y="{y}" font-size="11">{escape(line)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" '
        f'fill="white"/>\n' + "\n".join(body) + "\n</svg>\n"
    )


def main() -> None:
    run = json.loads((RESULTS / "scale.json").read_text("utf-8"))
    OUT.write_text(render(run), "utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
