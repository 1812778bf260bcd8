"""Byte sizes in messages, exact: a file over a limit never reads as the limit's own size.

"20.0 MB, over the 20.0 MB limit" was what a 21,001,000-byte file was told; every message that
names a size or a size limit is built here.
"""

from __future__ import annotations


def byte_size(n: int) -> str:
    """``21,001,000 bytes`` (``1 byte``)."""
    return "1 byte" if n == 1 else f"{n:,} bytes"


def size_limit(limit: int, name: str = "limit") -> str:
    """``the 20,000,000-byte limit`` (``name`` says which: "upload limit" …)."""
    return f"the {limit:,}-byte {name}"


def over_limit(size: int, limit: int, name: str = "limit") -> str:
    """``21,001,000 bytes, over the 20,000,000-byte limit``.

    Upload readers stop at ``limit + 1`` bytes, so that size may be a larger file cut short: for
    it only ``over the 20,000,000-byte limit`` is said, which is true either way.
    """
    bound = size_limit(limit, name)
    return f"over {bound}" if size == limit + 1 else f"{byte_size(size)}, over {bound}"
