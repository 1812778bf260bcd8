"""Size messages: exact byte counts, so the size and the limit never read alike."""

from __future__ import annotations

import pytest

from ingest.sizes import byte_size, over_limit, size_limit


@pytest.mark.parametrize(
    ("size", "limit", "message"),
    [
        (21_001_000, 20_000_000, "21,001,000 bytes, over the 20,000,000-byte limit"),
        (20_000_002, 20_000_000, "20,000,002 bytes, over the 20,000,000-byte limit"),
        # what a reader that stops at limit + 1 holds: maybe more, so no size is claimed
        (20_000_001, 20_000_000, "over the 20,000,000-byte limit"),
        (2_000, 999, "2,000 bytes, over the 999-byte limit"),
    ],
)
def test_over_limit_names_both_numbers_exactly(size: int, limit: int, message: str) -> None:
    assert over_limit(size, limit) == message


def test_units() -> None:
    assert [byte_size(0), byte_size(1), byte_size(1_234_567)] == [
        "0 bytes",
        "1 byte",
        "1,234,567 bytes",
    ]
    assert size_limit(100_000_000, "request limit") == "the 100,000,000-byte request limit"
