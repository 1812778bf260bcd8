"""MinHash bands: which earlier blocks could be a near copy of this one, in linear time.

Comparing every long block with every kept one costs the square of the document (a 3,000
paragraph manual took minutes). Instead each block's shingle set gets ``BANDS`` × ``ROWS``
MinHash values; two blocks become candidates when all values of one band agree. Two sets with
Jaccard J agree on a band with probability J^ROWS, so a pair at the 0.8 threshold is missed
with probability (1 - 0.8^4)^24 ≈ 3·10⁻⁶ (and far less above it), while pairs of unrelated
paragraphs of one manual (J ≈ 0.05) rarely meet. Each bucket holds at most ``BUCKET_CAP``
blocks and each block is checked against at most ``MAX_CANDIDATES`` of them, most shared bands
first: a document of thousands of templated paragraphs stays linear, and a true near copy,
which shares about ten of the 24 bands, is still the first one checked.

Deterministic: fixed hash constants over crc32 shingles, the same bytes give the same result.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable

import numpy as np

BANDS = 24
ROWS = 4
BUCKET_CAP = 64
MAX_CANDIDATES = 16

# Multiply-shift hashing (Dietzfelbinger): (a·x + b) mod 2⁶⁴, top 32 bits; odd a.
_RNG = np.random.default_rng(20261207)
_A = (_RNG.integers(0, 2**63, BANDS * ROWS, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_B = _RNG.integers(0, 2**63, BANDS * ROWS, dtype=np.uint64)

Band = tuple[int, bytes]


def band_keys(shingle_sets: list[set[int]]) -> list[list[Band]]:
    """For each non-empty set of 32-bit shingles, its ``BANDS`` bucket keys (band, values)."""
    out: list[list[Band]] = []
    batch: list[set[int]] = []
    size = 0
    for s in shingle_sets:
        if len(s) > _BATCH_VALUES:  # one huge block (a 10 MB line): hashed slice by slice
            out.extend(_band_keys(batch))
            batch, size = [], 0
            out.append(_bands(_large_signature(s)))
            continue
        batch.append(s)
        size += len(s)
        if size >= _BATCH_VALUES:
            out.extend(_band_keys(batch))
            batch, size = [], 0
    out.extend(_band_keys(batch))
    return out


# Shingles hashed per numpy call: 96 hashes × 16,384 values × 8 bytes is 12.6 MB of scratch,
# well inside the parse fence's memory, whatever the document's or the block's size.
_BATCH_VALUES = 16_384


def _hashed(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        hashed: np.ndarray = (_A[:, None] * values[None, :] + _B[:, None]) >> np.uint64(32)
    return hashed


def _band_keys(shingle_sets: list[set[int]]) -> list[list[Band]]:
    if not shingle_sets:
        return []
    sizes = np.array([len(s) for s in shingle_sets])
    values = np.fromiter((h for s in shingle_sets for h in s), dtype=np.uint64, count=sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    signatures = np.minimum.reduceat(_hashed(values), starts, axis=1).T
    return [_bands(signature) for signature in signatures]


def _large_signature(shingles: set[int]) -> np.ndarray:
    signature = np.full(BANDS * ROWS, np.iinfo(np.uint64).max, dtype=np.uint64)
    values = iter(shingles)
    while (chunk := np.fromiter(itertools.islice(values, _BATCH_VALUES), dtype=np.uint64)).size:
        signature = np.minimum(signature, _hashed(chunk).min(axis=1))
    return signature


def _bands(signature: np.ndarray) -> list[Band]:
    rows = signature.astype(np.uint32).reshape(BANDS, ROWS)
    return [(b, rows[b].tobytes()) for b in range(BANDS)]


class NearBuckets:
    """Kept blocks by band key; ``candidates`` lists those sharing the most bands first."""

    def __init__(self) -> None:
        self._buckets: dict[Band, list[int]] = {}

    def candidates(self, bands: Iterable[Band]) -> list[int]:
        shared: Counter[int] = Counter()
        for band in bands:
            shared.update(self._buckets.get(band, ()))
        return [j for j, _ in sorted(shared.items(), key=lambda x: (-x[1], x[0]))][:MAX_CANDIDATES]

    def add(self, block: int, bands: Iterable[Band]) -> None:
        for band in bands:
            bucket = self._buckets.setdefault(band, [])
            if len(bucket) < BUCKET_CAP:
                bucket.append(block)
