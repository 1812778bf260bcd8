"""Chunk metadata formats for a generation, measured on a real one: what a start-up pays to load
them and what a search pays to read its hits.

The chunks of a data dir's live main segment (``--data-dir``, e.g. build_large.py's kb-20000)
are written three ways into a scratch folder: ``chunks.json`` (format 1), the mapped columns of
format 2 (``search/chunktable.py``) and one SQLite table per generation (a row per chunk, the
filter fields as columns, tags and section as JSON). For each, in a fresh process each time:
``load_s``, opening it and getting the filter columns a searcher builds its masks from;
``hits_ms``, reading 10 rows as ``IndexedChunk`` (one search's hits); the file size; and the
process's private memory grown by loading. Writes bench/results/chunk_formats.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from bench.startup import resident_mib
from search.chunkcolumns import ChunkColumns
from search.chunktable import TABLE_DIR, ChunkTable, load_chunks, write_table
from search.segments import read_chunks, write_chunks
from search.types import IndexedChunk

FORMATS = ("json", "columns", "sqlite")
_FIELDS = [f for f in IndexedChunk.__dataclass_fields__]


def write_all(chunks: list[IndexedChunk], folder: Path) -> dict[str, int]:
    write_chunks(folder / "chunks.json", chunks)
    write_table(folder, chunks)
    db = sqlite3.connect(folder / "chunks.sqlite3")
    db.execute(f"CREATE TABLE chunks (row INTEGER PRIMARY KEY, {', '.join(_FIELDS)})")
    db.executemany(
        f"INSERT INTO chunks VALUES (?, {', '.join('?' for _ in _FIELDS)})",
        [(row, *_sql_values(c)) for row, c in enumerate(chunks)],
    )
    db.commit()
    db.close()
    table = sum(p.stat().st_size for p in (folder / TABLE_DIR).iterdir())
    return {
        "json": (folder / "chunks.json").stat().st_size,
        "columns": table,
        "sqlite": (folder / "chunks.sqlite3").stat().st_size,
    }


def _sql_values(chunk: IndexedChunk) -> list[object]:
    values = asdict(chunk)
    for key in ("section", "tags"):
        values[key] = json.dumps(list(values[key]), ensure_ascii=False)
    for key in ("valid_from", "valid_to"):
        values[key] = values[key].toordinal() if values[key] else None
    return [values[f] for f in _FIELDS]


def _from_sql(row: tuple[Any, ...]) -> IndexedChunk:
    values = dict(zip(_FIELDS, row[1:], strict=True))
    for key in ("section", "tags"):
        values[key] = tuple(json.loads(values[key]))
    for key in ("valid_from", "valid_to"):
        values[key] = date.fromordinal(values[key]) if values[key] else None
    return IndexedChunk(**values)


def one(folder: Path, form: str) -> dict[str, float]:
    """Load ``form`` and read 10 hits, in this (fresh) process."""
    before = resident_mib(os.getpid())["rss_anon_mib"]
    start = time.perf_counter()
    wanted = [7 * i * i % 1000 for i in range(10)]
    if form == "sqlite":
        db = sqlite3.connect(folder / "chunks.sqlite3")
        fields = "document_id, doc_type, product, language, tags, valid_from, valid_to"
        rows = db.execute(f"SELECT {fields} FROM chunks ORDER BY row").fetchall()
        loaded = time.perf_counter()
        marks = ",".join("?" for _ in wanted)
        found = db.execute(f"SELECT * FROM chunks WHERE row IN ({marks})", wanted)
        hits = [_from_sql(r) for r in found]
        assert len(rows) > max(wanted) and len(hits) == len(set(wanted))
    else:
        chunks = (
            read_chunks(folder / "chunks.json")
            if form == "json"
            else ChunkTable(folder / TABLE_DIR)
        )
        columns = chunks.columns() if isinstance(chunks, ChunkTable) else ChunkColumns.of(chunks)
        loaded = time.perf_counter()
        hits = [chunks[i] for i in wanted]
        assert columns.rows == len(chunks)
    done = time.perf_counter()
    return {
        "load_s": loaded - start,
        "hits_ms": (done - loaded) * 1000,
        "private_mib_grown": resident_mib(os.getpid())["rss_anon_mib"] - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/chunk_formats.json"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one[0]), args.one[1])))
        return
    if args.data_dir is None:
        parser.error("--data-dir is required")
    collection = args.data_dir / "index" / "large"
    generation = collection / (collection / "CURRENT").read_text().strip()
    chunks = list(load_chunks(generation))
    result: dict[str, Any] = {"machine": machine_info(), "chunks": len(chunks), "formats": {}}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sizes = write_all(chunks, folder)
        samples: dict[str, list[dict[str, float]]] = {f: [] for f in FORMATS}
        for _ in range(args.runs):
            for form in FORMATS:  # interleaved: the machine's load hits all alike
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(folder), form],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                samples[form].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for form in FORMATS:
        runs = samples[form]
        result["formats"][form] = {
            "bytes": sizes[form],
            **{k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]},
        }
    result["load_average"] = os.getloadavg()[0]
    text = json.dumps(result, indent=2)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
