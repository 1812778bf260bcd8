"""Fusion of BM25 and vector results. Pure functions over ``{row: score}`` and ranked lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def min_max(scores: Mapping[int, float]) -> dict[int, float]:
    """Scale scores to [0, 1] within this query; if all are equal, all become 1.0."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low <= 1e-12:
        return dict.fromkeys(scores, 1.0)
    span = high - low
    return {key: (value - low) / span for key, value in scores.items()}


def convex(
    bm25: Mapping[int, float], vector: Mapping[int, float], alpha: float
) -> dict[int, float]:
    """``alpha * vector + (1 - alpha) * bm25`` after per-query min-max normalisation of each side.

    A candidate missing from one side counts 0 there (the worst candidate of that side). Scores
    lie in [0, 1]. Min-max makes the best of each side 1.0 however weak it is in absolute terms;
    callers that need absolute confidence should look at the raw scores too.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    keyword, dense = min_max(bm25), min_max(vector)
    return {
        key: alpha * dense.get(key, 0.0) + (1.0 - alpha) * keyword.get(key, 0.0)
        for key in keyword.keys() | dense.keys()
    }


def rrf(
    rankings: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = 60
) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``sum(w / (k + rank))`` with ranks starting at 1.

    The result is divided by the best possible score (``sum(weights) / (k + 1)``), so a candidate
    ranked first by every retriever scores 1.0 and all scores lie in [0, 1].
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    if k < 0 or any(w < 0 for w in weights):
        raise ValueError(f"rrf needs k >= 0 and non-negative weights, got k={k}, {list(weights)}")
    ceiling = sum(weights) / (k + 1)
    fused: dict[int, float] = {}
    if ceiling <= 0:
        return fused
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank) / ceiling
    return fused
