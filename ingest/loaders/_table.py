"""Turn table rows into readable lines: "Header: cell; Header: cell" when there is a header."""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"^[\d\s.,:%/+\-¥$€￥]*$")


def looks_like_header(rows: list[list[str]]) -> bool:
    """A first row of short, non-empty, non-numeric, distinct cells above at least one row."""
    if len(rows) < 2 or len(rows[0]) < 2:
        return False
    first = rows[0]
    cells = [c.strip() for c in first]
    return (
        all(cells)
        and all(len(c) <= 40 for c in cells)
        and not any(_NUMERIC.match(c) for c in cells)
        and len(set(cells)) == len(cells)
    )


def row_texts(rows: list[list[str]], header: bool | None = None) -> list[str]:
    """One readable string per data row; ``header`` None means guess from the first row."""
    rows = [[" ".join(c.split()) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    has_header = looks_like_header(rows) if header is None else header and len(rows) > 1
    if not has_header:
        return [" | ".join(c for c in row if c) for row in rows]
    names = rows[0]
    out = []
    for row in rows[1:]:
        pairs = []
        for i, cell in enumerate(row):
            if not cell:
                continue
            name = names[i] if i < len(names) else ""
            pairs.append(f"{name}: {cell}" if name else cell)
        if pairs:
            out.append("; ".join(pairs))
    return out
