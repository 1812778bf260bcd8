"""The pure clustering functions on hand-made similarity tables."""

from __future__ import annotations

import numpy as np
import pytest

from kb.upkeep.clustering import average_link, center, medoid, similarity


def test_average_link_does_not_chain_near_neighbours() -> None:
    # a~b and b~c are close, a and c are not: single link would chain all three.
    sim = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.8], [0.1, 0.8, 1.0]])
    assert average_link(sim, 0.5) == [[0, 1], [2]]  # {a, b} to c: (0.1 + 0.8) / 2 = 0.45
    assert average_link(sim, 0.4) == [[0, 1, 2]]
    assert average_link(sim, 0.9) == [[0], [1], [2]]
    assert average_link(np.zeros((0, 0)), 0.5) == []


def test_the_medoid_is_the_most_typical_member_weighted_by_how_often_it_was_asked() -> None:
    sim = np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.6], [0.2, 0.6, 1.0]])
    assert medoid(sim, [0, 1, 2], [1, 1, 1]) == 1
    assert medoid(sim, [0, 2], [1, 1, 5]) == 2  # weights of every row, by index


@pytest.mark.parametrize(("weight", "expected"), [(0.0, 0.0), (1.0, 2 / 3), (0.5, 1 / 3)])
def test_similarity_blends_cosine_and_keyword_overlap(weight: float, expected: float) -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])  # orthogonal: cosine 0
    tokens = [frozenset({"退款", "到账"}), frozenset({"退款", "多久", "到账"})]
    assert similarity(vectors, tokens, weight)[0, 1] == pytest.approx(expected)


def test_centering_spreads_vectors_that_share_one_direction() -> None:
    shared = np.array([1.0, 0.0, 0.0])
    vectors = np.array([[0.95, 0.31, 0.0], [0.95, 0.0, 0.31]])
    before = float(vectors[0] @ vectors[1])
    moved = center(vectors, shared, 0.8)
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0)
    assert float(moved[0] @ moved[1]) < before
