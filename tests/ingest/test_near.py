"""MinHash bands (``ingest.near``): near copies meet, unrelated paragraphs rarely do, and the
cleaning that uses them drops exactly what comparing every pair would drop."""

from __future__ import annotations

import random

from loader_files import manual_items

from ingest.cleaning import _shingles, dedup_key, drop_repeats
from ingest.model import Block
from ingest.near import (
    _BATCH_VALUES,
    BUCKET_CAP,
    MAX_CANDIDATES,
    NearBuckets,
    _band_keys,
    band_keys,
)

PARAGRAPH = (
    "Press and hold the power button for 3 seconds until the indicator turns white. Keep the "
    "charging dock at least 50 cm away from the hallway stairs."
)


def _set(text: str) -> set[int]:
    return _shingles(dedup_key(text))


def test_band_keys_are_deterministic_and_equal_for_equal_sets() -> None:
    a, b = band_keys([_set(PARAGRAPH), _set(PARAGRAPH.upper())])
    assert a == b  # the key folds case, so the sets are equal
    assert band_keys([_set(PARAGRAPH)]) == [a]  # no per-process salt


def test_a_near_copy_shares_bands_and_an_unrelated_paragraph_does_not() -> None:
    near = PARAGRAPH.replace("3 seconds", "5 seconds")
    other = "Fill the water tank to the MAX line before mopping the kitchen; it holds 300 ml."
    original, copy, unrelated = band_keys([_set(PARAGRAPH), _set(near), _set(other)])
    assert len(set(original) & set(copy)) >= 8  # of 24: J ≈ 0.9 agrees on most bands
    assert not set(original) & set(unrelated)


def test_candidates_are_bounded_and_most_shared_first() -> None:
    buckets = NearBuckets()
    (bands,) = band_keys([_set(PARAGRAPH)])
    for block in range(BUCKET_CAP + 10):
        buckets.add(block, bands)
    found = buckets.candidates(bands)
    assert found == list(range(MAX_CANDIDATES))  # capped buckets, ties by position
    buckets.add(999, bands[:1])
    assert 999 not in buckets.candidates(bands)  # the bucket was full


def _all_pairs(blocks: list[Block]) -> list[str]:
    """The rule by brute force: drop a long block whose sketch meets a kept one's and whose
    shingles reach Jaccard 0.8 with it (exact repeats are left to drop_repeats' first pass)."""
    kept: list[tuple[set[int], set[int]]] = []
    out = []
    for b in blocks:
        key = dedup_key(b.text)
        sh = _shingles(key)
        sketch = set(sorted(sh)[:8])
        if len(key) >= 80 and any(sketch & s and len(sh & k) / len(sh | k) >= 0.8 for k, s in kept):
            continue
        if len(key) >= 80:
            kept.append((sh, sketch))
        out.append(b.text)
    return out


def test_near_repeats_dropped_are_those_all_pairs_would_drop() -> None:
    rng = random.Random(5)
    paragraphs = [str(t) for k, t in manual_items(400, seed=3) if k == "numbered"]
    blocks = []
    for i, text in enumerate(paragraphs):
        blocks.append(Block(text))
        if i % 4 == 0:  # an edited copy of an earlier paragraph: one to six words changed
            words = rng.choice(paragraphs[: i + 1]).split()
            for _ in range(rng.randint(1, 6)):
                words[rng.randrange(len(words))] = rng.choice(["robot", "dock", "app", "mop"])
            blocks.append(Block(" ".join(words)))
    expected = _all_pairs(blocks)
    assert [b.text for b in drop_repeats(blocks)] == expected
    assert len(blocks) - len(expected) > 50  # the copies were there to drop


def test_a_huge_block_is_hashed_in_slices_to_the_same_bands() -> None:
    # A 10 MB single line is one block: hashing all its shingles at once would take 96 times
    # its size in scratch memory (gigabytes), past the parse fence.
    huge = set(range(0, 3 * _BATCH_VALUES + 7, 1))
    small = _set(PARAGRAPH)
    assert band_keys([small, huge, small]) == [
        *_band_keys([small]),
        *_band_keys([huge]),
        *_band_keys([small]),
    ]
