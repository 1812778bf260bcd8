from dataclasses import MISSING, fields, replace

import pytest

from kb.settings import Settings
from search.embedders import Embedder
from search.fusion import FusionConfig, Signals, below_best, convex, fuse, min_max, rrf
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.normalize import normalize
from search.tokenize import Tokenizer

FUSION = Settings().fusion_config  # the one source of fusion defaults


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({}, {}),
        ({1: 5.0}, {1: 1.0}),
        ({1: 2.0, 2: 2.0}, {1: 1.0, 2: 1.0}),
        ({1: 10.0, 2: 5.0, 3: 0.0}, {1: 1.0, 2: 0.5, 3: 0.0}),
        ({1: -0.2, 2: 0.8}, {1: 0.0, 2: 1.0}),
    ],
)
def test_min_max(scores: dict[int, float], expected: dict[int, float]) -> None:
    assert min_max(scores) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scores", "width", "expected"),
    [
        ({}, 0.1, {}),
        ({1: 0.9}, 0.1, {1: 1.0}),
        ({1: 0.9, 2: 0.85, 3: 0.8, 4: 0.5}, 0.1, {1: 1.0, 2: 0.5, 3: 0.0, 4: 0.0}),
        ({1: 0.9, 2: 0.85}, 0.2, {1: 1.0, 2: 0.75}),
    ],
)
def test_below_best(scores: dict[int, float], width: float, expected: dict[int, float]) -> None:
    assert below_best(scores, width) == pytest.approx(expected)


def test_below_best_keeps_a_cosine_gap_whatever_the_last_candidate() -> None:
    # Two close answers (.93, .92) and the same pair among candidates reaching down to .50:
    # min-max shrinks their gap as the list gets deeper, the fixed width keeps it.
    shallow = {1: 0.93, 2: 0.92, 3: 0.85}
    deep = {**shallow, 4: 0.70, 5: 0.50}
    gap = [s[1] - s[2] for s in (min_max(shallow), min_max(deep))]
    assert gap[0] > 2 * gap[1]
    fixed = [s[1] - s[2] for s in (below_best(shallow, 0.1), below_best(deep, 0.1))]
    assert fixed[0] == pytest.approx(fixed[1]) == pytest.approx(0.1)


def test_width_scale_lets_a_clear_cosine_lead_outweigh_a_common_keyword_match() -> None:
    # Row 1 is the vector's clear best (.93 against .90) but BM25 prefers row 2 a little
    # (both matched the product name); deep candidates stretch min-max.
    bm25 = {1: 2.0, 2: 3.0, 3: 0.0, 4: 0.0}
    vector = {1: 0.93, 2: 0.90, 3: 0.60, 4: 0.40}
    minmax = convex(bm25, vector, 0.4, bm25_ceiling=10.0)
    width = convex(bm25, vector, 0.4, bm25_ceiling=10.0, vector_width=0.1)
    assert max(minmax, key=minmax.__getitem__) == 2
    assert max(width, key=width.__getitem__) == 1


@pytest.mark.parametrize(
    "kwargs", [{"vector_scale": "zscore"}, {"vector_width": 0.0}, {"vector_width": 3.0}]
)
def test_fusion_config_refuses_a_bad_vector_scale(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="vector"):
        replace(FUSION, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bm25", "vector", "alpha", "expected"),
    [
        # alpha = 0 is pure BM25, alpha = 1 pure vector
        ({1: 4.0, 2: 2.0, 3: 0.0}, {1: 0.1, 2: 0.9, 3: 0.5}, 0.0, {1: 1.0, 2: 0.5, 3: 0.0}),
        ({1: 4.0, 2: 2.0, 3: 0.0}, {1: 0.1, 2: 0.9, 3: 0.5}, 1.0, {1: 0.0, 2: 1.0, 3: 0.5}),
        ({1: 4.0, 2: 2.0, 3: 0.0}, {1: 0.1, 2: 0.9, 3: 0.5}, 0.5, {1: 0.5, 2: 0.75, 3: 0.25}),
        # a candidate found by one retriever only counts 0 on the other side
        ({1: 3.0, 2: 1.0}, {3: 0.8, 2: 0.4}, 0.5, {1: 0.5, 2: 0.0, 3: 0.5}),
        ({}, {7: 0.3}, 0.3, {7: 0.3}),
        ({}, {}, 0.5, {}),
    ],
)
def test_convex(
    bm25: dict[int, float], vector: dict[int, float], alpha: float, expected: dict[int, float]
) -> None:
    assert convex(bm25, vector, alpha) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("bm25", "vector", "ceiling", "reach", "expected"),
    [
        # BM25 over the query's ceiling: a weak best match stays weak (min-max would make it 1.0)
        ({1: 2.0, 2: 1.0}, {1: 0.5, 2: 0.9}, 10.0, None, {1: 0.1, 2: 0.55}),
        ({1: 12.0}, {1: 0.5, 2: 0.9}, 10.0, None, {1: 0.5, 2: 0.5}),  # clipped at 1.0
        ({1: 2.0}, {1: 0.5, 2: 0.9}, 0.0, None, {1: 0.0, 2: 0.5}),  # no terms: vector only
        # no reach (another script): the vector decides alone; half reach halves BM25's weight
        ({1: 5.0}, {1: 0.5, 2: 0.9}, 10.0, {1: 1.0, 2: 0.0}, {1: 0.25, 2: 1.0}),
        ({1: 5.0}, {1: 0.5, 2: 0.9}, 10.0, {1: 0.5, 2: 0.0}, {1: 0.125, 2: 1.0}),
    ],
)
def test_convex_with_ceiling_and_reach(
    bm25: dict[int, float],
    vector: dict[int, float],
    ceiling: float,
    reach: dict[int, float] | None,
    expected: dict[int, float],
) -> None:
    assert convex(bm25, vector, 0.5, ceiling, reach) == pytest.approx(expected)


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_convex_rejects_alpha_outside_unit_interval(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        convex({1: 1.0}, {1: 1.0}, alpha)


@pytest.mark.parametrize(
    ("rankings", "weights", "k", "expected"),
    [
        # first in both lists → 1.0 (scores are divided by the best possible)
        ([[1, 2], [1, 3]], None, 60, {1: 1.0, 2: 61 / 62 / 2, 3: 61 / 62 / 2}),
        ([[1, 2], [2, 1]], None, 0, {1: 0.75, 2: 0.75}),
        # weights favour the second ranking
        ([[1], [2]], [1.0, 3.0], 0, {1: 0.25, 2: 0.75}),
        ([[5, 6, 7]], None, 1, {5: 1.0, 6: 2 / 3, 7: 0.5}),
        ([[], []], None, 60, {}),
        ([], None, 60, {}),
    ],
)
def test_rrf(
    rankings: list[list[int]],
    weights: list[float] | None,
    k: int,
    expected: dict[int, float],
) -> None:
    assert rrf(rankings, weights, k=k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("weights", "k"),
    [([1.0], 60), ([1.0, -1.0], 60), ([1.0, 1.0], -1)],
)
def test_rrf_rejects_bad_parameters(weights: list[float], k: int) -> None:
    with pytest.raises(ValueError):
        rrf([[1], [2]], weights, k=k)


# One fusion: the searcher, the tuner (signals taken once, deeper) and the code before fuse()
# existed rank the same candidates in the same order with the same scores.
QUERIES = ["退款", "打印机卡纸怎么办", "how do I download an invoice", "电池 warranty", "优惠券"]
CONFIGS = {
    "settings": FUSION,
    "minmax": replace(FUSION, bm25_scale="minmax", reach=False, vector_scale="minmax"),
    "width, shallow": replace(FUSION, alpha=0.6, vector_width=0.05, depth=3),
    "rrf": replace(FUSION, method="rrf", rrf_k=10, vector_weight=2.0, depth=4),
}


def _before(signals: Signals, config: FusionConfig) -> list[tuple[int, float]]:
    """How HybridSearcher.search fused before fuse(), copied from it (commit b1280f5)."""
    if config.method == "convex":
        if config.bm25_scale == "ceiling":
            width = config.vector_width if config.vector_scale == "width" else None
            fused = convex(
                signals.bm25, signals.cosine, config.alpha, signals.bm25_ceiling, signals.reach,
                vector_width=width,
            )  # fmt: skip
        else:
            fused = convex(signals.bm25, signals.cosine, config.alpha)
    else:
        fused = rrf(
            [[row for row, _ in signals.keyword], [row for row, _ in signals.dense]],
            [config.bm25_weight, config.vector_weight],
            k=config.rrf_k,
        )
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize("name", CONFIGS)
def test_one_fusion_ranks_as_before_and_as_the_tuner_does(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer, name: str
) -> None:
    config = CONFIGS[name]
    searcher = HybridSearcher(built[1], e5, tokenizer, config)
    for query in QUERIES:
        text = normalize(query)
        hits = searcher.search(query, limit=3)
        served = [(h.chunk.chunk_id, h.score) for h in hits]
        chunks = built[1].chunks
        before = _before(searcher.signals(text, config.depth), config)[:3]
        tuned = fuse(searcher.signals(text, 100), config)[:3]  # the tuner's deeper signals
        assert served == [(chunks[row].chunk_id, score) for row, score in before], query
        # Cosines computed over a larger candidate batch can differ in the last float32 bits.
        assert [h.chunk.chunk_id for h in hits] == [chunks[row].chunk_id for row, _ in tuned]
        assert [h.score for h in hits] == pytest.approx([score for _, score in tuned], abs=1e-5)
        assert len(served) == 3


def test_a_search_for_more_hits_than_the_depth_takes_that_many_candidates(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> None:
    searcher = HybridSearcher(built[1], e5, tokenizer, replace(FUSION, depth=2))
    assert len(searcher.search("订单", limit=5)) == 5


def test_the_config_is_recorded_whole() -> None:
    recorded = FUSION.as_dict()
    assert FusionConfig(**recorded) == FUSION
    assert set(recorded) == {f.name for f in fields(FusionConfig)}


def test_fusion_config_has_no_defaults_of_its_own() -> None:
    """The settings are the one source: a config that names no field cannot be made."""
    with pytest.raises(TypeError):
        FusionConfig()  # type: ignore[call-arg]
    assert all(f.default is MISSING for f in fields(FusionConfig))


def test_a_row_without_a_vector_stands_on_the_vector_side_at_its_keyword_rank() -> None:
    """Row 9 has no vector yet (keyword_only): it takes the cosine the vector side has at its
    keyword rank (1st: the best), so it is not buried under rows that have vectors."""
    signals = Signals(
        terms=[],
        keyword=[(9, 4.0), (1, 3.8)],
        dense=[(1, 0.9), (2, 0.85)],
        bm25={9: 4.0, 1: 3.8, 2: 0.0},
        cosine={1: 0.9, 2: 0.85},
        bm25_ceiling=5.0,
        reach={9: 1.0, 1: 1.0, 2: 1.0},
        keyword_only=frozenset({9}),
    )
    counted_as_zero = replace(signals, keyword_only=frozenset())
    convex_config = replace(FUSION, method="convex")
    assert fuse(signals, convex_config)[0][0] == 9
    assert fuse(counted_as_zero, convex_config)[0][0] == 1
    rrf_config = replace(FUSION, method="rrf")
    assert dict(fuse(signals, rrf_config))[9] > dict(fuse(counted_as_zero, rrf_config))[9]
