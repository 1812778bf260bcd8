"""Cleaning on messy web pages: content lost and boilerplate kept, per page.

Runs the plain-text loader and ``ingest.cleaning.clean_blocks`` on the shared samples, the
development pages and the held-out pages of ``tests/ingest/messy`` and compares the result
with each page's expected content (letters and digits only). Writes bench/results/cleaning.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ingest")]

from messy_pages import all_pages, cleaned, score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--group", action="append", help="shared, dev or heldout (default: all)")
    args = parser.parse_args()
    rows = []
    for page in all_pages():
        if args.group and page.group not in args.group:
            continue
        rows.append(
            {"page": page.name, "group": page.group, **asdict(score(page.expected, cleaned(page)))}
        )
        r = rows[-1]
        print(
            f"{r['group']:8} {r['page']:34} content {r['content_chars']:6} lost {r['lost']:4} "
            f"boilerplate kept {r['kept_boilerplate']:4} repeats kept {r['kept_repeats']:4}"
        )
    if not args.group:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cleaning.json").write_text(
            json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
