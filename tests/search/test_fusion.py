import pytest

from search.fusion import FusionConfig, below_best, convex, min_max, rrf


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
        FusionConfig(**kwargs)  # type: ignore[arg-type]


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
