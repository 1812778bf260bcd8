"""bench/growth.py projects each measured series by the model README "Speed" states, and draws
every measured and projected series into one labelled SVG."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from bench.growth import project, render

MEASURED = [(1_000, 2.0), (100_000, 4.0)]


@pytest.mark.parametrize(
    ("name", "at_1m", "at_10m"),
    [
        ("E (one query embedding)", 4.0, 4.0),  # the embedding does not grow with the chunks
        ("BM25 (in-process)", 40.0, 400.0),  # every posting of the query's terms: linear
        ("FAISS, 1 thread (in-process)", 4.0 * 6 / 5, 4.0 * 7 / 5),  # HNSW: log n
        ("mem:private (anonymous)", 4.0 + 2 / 99_000 * 900_000, 4.0 + 2 / 99_000 * 9_900_000),
    ],
)
def test_projection_follows_the_stated_model(name: str, at_1m: float, at_10m: float) -> None:
    start, one_m, ten_m = project(name, MEASURED)
    assert start == MEASURED[-1]
    assert one_m[0] == 1_000_000 and math.isclose(one_m[1], at_1m, rel_tol=1e-9)
    assert ten_m[0] == 10_000_000 and math.isclose(ten_m[1], at_10m, rel_tol=1e-9)


def test_the_plot_names_machine_and_stand_ins() -> None:
    size = lambda n, real: {  # noqa: E731
        "built": {"real_vectors": real, "vector_index": "flat"},
        "E": {"p50_ms": 50.0},
        "stages": {"bm25": {"p50_ms": n / 1e5}, "faiss_1_thread": {"p50_ms": 1.0}},
        "serve": {
            "search_1": {"p50_ms": 60.0},
            "suggest_1": {"p50_ms": 70.0},
            "rss_after_warmup_mib": {"anon": 100 + n / 1e3, "file": 10 + n / 1e4},
        },
    }
    run = {
        "machine": {
            "cores": 2,
            "cpu": "Test <CPU>",
            "memory_gib": 4.0,
            "date": "2026-12-07",
            "commit": "abc1234",
        },
        "sizes": {"1000": size(1_000, 10), "100000": size(100_000, 50)},
    }
    svg = render(run)
    ET.fromstring(svg)  # well-formed, so the machine's name was escaped
    assert "Test &lt;CPU&gt;" in svg and "60 of 101,000 real" in svg and "stand-ins" in svg
    assert svg.count('stroke-dasharray="5,4"') == 7  # five latency series, two memory ones
