"""Fusion of BM25 and vector results. Pure functions over ``{row: score}`` and ranked lists.

:func:`fuse` is the one way candidates are ranked: the searcher, the fusion tuner and the
evaluation all call it with a :class:`FusionConfig` built from the settings (which hold the only
defaults), so a setting measured by the tuner is exactly the setting served.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from search.decisive import KeywordEvidence
from search.tokenize import TermGroup

FusionMethod = Literal["convex", "rrf"]
BM25Scale = Literal["ceiling", "minmax"]
VectorScale = Literal["minmax", "width"]


@dataclass(frozen=True, kw_only=True)
class FusionConfig:
    """How BM25 and vector candidates combine: one object from the settings to every searcher.

    No field has a default here: ``kb.settings.Settings.fusion_config`` is the one source.
    """

    method: FusionMethod
    alpha: float  # convex: weight of the vector score
    rrf_k: int
    bm25_weight: float  # RRF weights
    vector_weight: float
    bm25_scale: BM25Scale  # convex: BM25 over its idf ceiling, or min-max
    reach: bool  # convex: BM25's weight shrinks with how much of a candidate its scripts can read
    vector_scale: VectorScale  # convex: cosine min-max, or within a fixed width
    vector_width: float  # "width": the cosine gap below the query's best that scores 0
    depth: int  # candidates each retriever contributes

    def __post_init__(self) -> None:
        if self.method not in ("convex", "rrf"):
            raise ValueError(f"unknown fusion method {self.method!r}: expected 'convex' or 'rrf'")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if self.bm25_scale not in ("ceiling", "minmax"):
            raise ValueError(
                f"unknown BM25 scale {self.bm25_scale!r}: expected 'ceiling' or 'minmax'"
            )
        if self.vector_scale not in ("minmax", "width"):
            raise ValueError(
                f"unknown vector scale {self.vector_scale!r}: expected 'minmax' or 'width'"
            )
        if not 0.0 < self.vector_width <= 2.0:
            raise ValueError(f"vector width must lie in (0, 2], got {self.vector_width}")
        if self.depth < 1:
            raise ValueError(f"candidate depth must be at least 1, got {self.depth}")
        if self.rrf_k < 0 or self.bm25_weight < 0 or self.vector_weight < 0:
            raise ValueError(
                f"rrf needs k >= 0 and non-negative weights, got k={self.rrf_k}, "
                f"weights {self.bm25_weight}, {self.vector_weight}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Every field, for the JSON of an evaluation or a benchmark."""
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """What fusion sees for one query: each retriever's top list and every candidate's scores."""

    terms: list[TermGroup]
    keyword: list[tuple[int, float]]  # BM25 top, best first
    dense: list[tuple[int, float]]  # vector top, best first
    bm25: dict[int, float]  # raw BM25 of every candidate
    cosine: dict[int, float]  # cosine of every candidate
    bm25_ceiling: float  # the most BM25 could give any chunk for these terms: their idf sum
    reach: dict[int, float]  # share of each candidate written in the query's scripts
    evidence: KeywordEvidence | None = None  # how decisive the keyword side is (None: not run)
    skipped: bool = False  # BM25 was decisive: the query was not embedded, ``dense`` is empty
    # Candidates without a vector yet (a document just uploaded): ranked by their keyword score.
    keyword_only: frozenset[int] = frozenset()


def fuse(signals: Signals, config: FusionConfig) -> list[tuple[int, float]]:
    """Candidates best first (ties by row) with their fused scores, as ``config`` combines them.

    Only each retriever's top ``config.depth`` take part, so signals taken once at a greater
    depth (the tuner's) rank exactly as a search at ``config.depth`` would.
    """
    keyword, dense = signals.keyword[: config.depth], signals.dense[: config.depth]
    cosine: Mapping[int, float] = signals.cosine
    if signals.keyword_only:
        dense, cosine = _stand_in(keyword, dense, cosine, signals.keyword_only)
    if config.method == "rrf":
        fused = rrf(
            [[row for row, _ in keyword], [row for row, _ in dense]],
            [config.bm25_weight, config.vector_weight],
            k=config.rrf_k,
        )
    else:
        rows = {row for row, _ in keyword} | {row for row, _ in dense}
        fused = convex(
            {row: signals.bm25[row] for row in rows if row in signals.bm25},
            {row: cosine[row] for row in rows if row in cosine},
            config.alpha,
            signals.bm25_ceiling if config.bm25_scale == "ceiling" else None,
            {row: signals.reach[row] for row in rows} if config.reach else None,
            config.vector_width if config.vector_scale == "width" else None,
        )
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _stand_in(
    keyword: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    cosine: Mapping[int, float],
    keyword_only: Collection[int],
) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """The vector side with a stand-in for each keyword-only row (no vector yet): the cosine
    found at its keyword rank on the vector side, so its place comes from keyword evidence
    alone (the k-th keyword match stands as the k-th meaning match would) instead of 0, which
    would bury a just-uploaded document under every row that has a vector."""
    found = sorted((cosine[row] for row, _ in dense if row in cosine), reverse=True)
    if not found:
        return list(dense), dict(cosine)
    stand_in = dict(cosine)
    for rank, (row, _) in enumerate(keyword):
        if row in keyword_only:
            stand_in[row] = found[min(rank, len(found) - 1)]
    rows = {row for row, _ in dense} | {row for row, _ in keyword if row in keyword_only}
    ranked = sorted(((row, stand_in[row]) for row in rows), key=lambda item: (-item[1], item[0]))
    return ranked, stand_in


def min_max(scores: Mapping[int, float]) -> dict[int, float]:
    """Scale scores to [0, 1] within this query; if all are equal, all become 1.0."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low <= 1e-12:
        return dict.fromkeys(scores, 1.0)
    span = high - low
    return {key: (value - low) / span for key, value in scores.items()}


def below_best(scores: Mapping[int, float], width: float) -> dict[int, float]:
    """``1 - (best - score) / width``, floored at 0: the best scores 1.0, ``width`` below it 0.

    Unlike min-max this keeps the cosine's own units: a gap of .01 is a tenth of the scale
    however many candidates were taken and however far the last of them lies. Min-max divides
    by the spread down to the last candidate, which grows with the candidate depth and as the
    corpus gets smaller, so in a 150-chunk knowledge base (its 100th candidate nearly off topic)
    a .01 gap between two close answers shrank to nothing against a BM25 difference.
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    if not scores:
        return {}
    best = max(scores.values())
    return {key: max(0.0, 1.0 - (best - value) / width) for key, value in scores.items()}


def convex(
    bm25: Mapping[int, float],
    vector: Mapping[int, float],
    alpha: float,
    bm25_ceiling: float | None = None,
    reach: Mapping[int, float] | None = None,
    vector_width: float | None = None,
) -> dict[int, float]:
    """``alpha * vector + (1 - alpha) * bm25``, each side scaled to [0, 1] for this query.

    The vector side is min-max normalised over the candidates, or, with ``vector_width``,
    scaled by its distance below the best cosine (:func:`below_best`). The BM25 side is divided by
    ``bm25_ceiling`` (the query's best possible BM25 score, the sum of its terms' idf) when it
    is given, else min-max normalised too. Min-max makes the best BM25 match 1.0 however little
    of the query it contains (an English query matching only "switch" and "new" in a mostly
    Chinese knowledge base); the ceiling keeps a weak match weak.

    ``reach`` (0..1 per candidate, default 1) is how much of a candidate BM25 could match at
    all: BM25's weight shrinks with it and the vector's grows, so a Chinese passage is not
    scored 0 on the keyword side of an English question it cannot share words with. A candidate
    missing from a side counts 0 there. Scores lie in [0, 1]; callers that need absolute
    confidence should look at the raw scores too.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if bm25_ceiling is not None and bm25_ceiling <= 0:
        keyword: dict[int, float] = {}
    elif bm25_ceiling is not None:
        keyword = {key: min(1.0, value / bm25_ceiling) for key, value in bm25.items()}
    else:
        keyword = min_max(bm25)
    dense = min_max(vector) if vector_width is None else below_best(vector, vector_width)
    fused = {}
    for key in keyword.keys() | dense.keys():
        weight = (1.0 - alpha) * (reach.get(key, 1.0) if reach is not None else 1.0)
        fused[key] = (1.0 - weight) * dense.get(key, 0.0) + weight * keyword.get(key, 0.0)
    return fused


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
