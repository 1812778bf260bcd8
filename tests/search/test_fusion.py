import pytest

from search.fusion import convex, min_max, rrf


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
