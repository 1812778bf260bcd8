"""Cleaning on messy web pages, and how loading and cleaning grow with a document's length.

Pages: runs the plain-text loader and ``ingest.cleaning.clean_blocks`` on the shared samples, the
development pages and the held-out pages of ``tests/ingest/messy`` and compares the result with
each page's expected content (letters and digits only): content lost and boilerplate kept.

Growth: one generated manual of numbered paragraphs (``tests/ingest/loader_files.manual_items``)
at 250, 1,000 and 3,000 paragraphs, written as DOCX, Markdown, HTML, plain text and PDF, parsed
by the real pipeline (``ingest.pipeline.parse_file``). Processor time, not wall time, so that a
busy machine does not blur the shape; ``ratio`` is the time per paragraph against the smallest
size (1.0 is linear; the quadratic cleaning this replaced gave about 12 at 3,000).

Writes bench/results/cleaning.json: {"pages": [...], "growth": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ingest")]

from loader_files import Heading, PdfSpec, docx_bytes, manual_items, pdf_bytes  # noqa: E402
from messy_pages import all_pages, cleaned, score  # noqa: E402

from ingest.cleaning import clean_blocks  # noqa: E402
from ingest.loaders import load_document  # noqa: E402
from ingest.pipeline import parse_file  # noqa: E402

SIZES = (250, 1000, 3000)
_PER_PDF_PAGE = 8


def _pages(groups: list[str] | None) -> list[dict[str, Any]]:
    rows = []
    for page in all_pages():
        if groups and page.group not in groups:
            continue
        rows.append(
            {"page": page.name, "group": page.group, **asdict(score(page.expected, cleaned(page)))}
        )
        r = rows[-1]
        print(
            f"{r['group']:8} {r['page']:34} content {r['content_chars']:6} lost {r['lost']:4} "
            f"boilerplate kept {r['kept_boilerplate']:4} repeats kept {r['kept_repeats']:4}"
        )
    return rows


def manual_files(paragraphs: int) -> dict[str, tuple[str, bytes]]:
    """The same manual in every format a manager uploads as a document."""
    items = manual_items(paragraphs)
    texts = [(kind, str(text)) for kind, text in items]
    markdown = "\n\n".join(f"# {t}" if k == "heading1" else t for k, t in texts)
    html = "".join(f"<h1>{t}</h1>" if k == "heading1" else f"<p>{t}</p>" for k, t in texts)
    plain = "\n\n".join(t for _, t in texts)
    pages: list[list[Heading | str]] = [[]]
    for kind, text in texts:
        if len(pages[-1]) >= _PER_PDF_PAGE:
            pages.append([])
        pages[-1].append(Heading(text) if kind == "heading1" else text)
    return {
        "docx": ("manual.docx", docx_bytes(items)),
        "markdown": ("manual.md", markdown.encode()),
        "html": ("manual.html", f"<html><body>{html}</body></html>".encode()),
        "text": ("manual.txt", plain.encode()),
        "pdf": ("manual.pdf", pdf_bytes(PdfSpec(pages=pages))),
    }


def _cpu(run: Any) -> tuple[float, Any]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def growth(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Processor seconds to load, to clean and for the whole parse, per format and size."""
    out: dict[str, Any] = {"sizes": list(sizes), "formats": {}}
    for size in sizes:
        for fmt, (name, data) in manual_files(size).items():
            load, document = _cpu(lambda: load_document(name, data))  # noqa: B023
            clean, _ = _cpu(lambda: clean_blocks(document.blocks))  # noqa: B023
            total, parsed = _cpu(lambda: parse_file(name, data))  # noqa: B023
            rows = out["formats"].setdefault(fmt, [])
            rows.append(
                {
                    "paragraphs": size,
                    "bytes": len(data),
                    "chunks": len(parsed.chunks),
                    "load_s": round(load, 3),
                    "clean_s": round(clean, 3),
                    "parse_s": round(total, 3),
                    "ms_per_paragraph": round(1000 * total / size, 3),
                }
            )
            base = rows[0]["ms_per_paragraph"]
            rows[-1]["ratio"] = round(rows[-1]["ms_per_paragraph"] / base, 2)
            r = rows[-1]
            print(
                f"{fmt:8} {size:5} paragraphs {r['bytes'] // 1000:5} KB  load {r['load_s']:6.2f}s"
                f"  clean {r['clean_s']:6.2f}s  parse {r['parse_s']:6.2f}s"
                f"  {r['ms_per_paragraph']:6.2f} ms/paragraph  x{r['ratio']}",
                flush=True,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--group", action="append", help="shared, dev or heldout (default: all)")
    args = parser.parse_args()
    rows = _pages(args.group)
    if not args.group:
        result = {"pages": rows, "growth": growth()}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cleaning.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
