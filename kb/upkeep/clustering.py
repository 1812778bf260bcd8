"""Batch clustering of logged queries by intent: pure functions over vectors and token sets.

Two queries are as similar as a blend of their embeddings' cosine and their keyword overlap
(Jaccard of the BM25 tokenizer's tokens): the cosine of e5 catches paraphrases, the keywords
keep two questions about different products or numbers apart. The vectors are first moved
away from a reference mean (``center``): e5 puts every short customer question in one narrow
cone (unrelated ones reach 0.93), and taking out most of the direction they share spreads
paraphrases and other questions apart. Clusters are merged by average link down to a threshold
(``KB_UPKEEP_CLUSTER_SIMILARITY``; both measured, see README, Knowledge upkeep), so a cluster
never grows by chaining one near neighbour after another. Kept in one small module so that the
online intents of learning-to-rank can share it later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KEYWORD_WEIGHT = 0.1  # the rest is the cosine (measured: README, Knowledge upkeep)
CENTERING = 0.8  # how much of the reference mean is taken out


def center(vectors: np.ndarray, mean: np.ndarray, strength: float = CENTERING) -> np.ndarray:
    """Unit rows of ``vectors - strength * mean``."""
    moved = np.asarray(vectors, dtype=np.float64) - strength * np.asarray(mean, dtype=np.float64)
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    return moved / np.where(norms == 0, 1.0, norms)


def similarity(
    vectors: np.ndarray, tokens: Sequence[frozenset[str]], keyword_weight: float = KEYWORD_WEIGHT
) -> np.ndarray:
    """The n×n blend of cosine (rows are unit vectors) and token Jaccard."""
    n = len(tokens)
    cosine = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    jaccard = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            union = len(tokens[i] | tokens[j])
            value = len(tokens[i] & tokens[j]) / union if union else float(i == j)
            jaccard[i, j] = jaccard[j, i] = value
    return (1 - keyword_weight) * cosine + keyword_weight * jaccard


def average_link(sim: np.ndarray, threshold: float) -> list[list[int]]:
    """Clusters of row indices: the two clusters of highest average similarity merge while
    that average is at least ``threshold``. Largest cluster first, members in index order."""
    n = sim.shape[0]
    if n == 0:
        return []
    sums = np.array(sim, dtype=np.float64)
    sizes = np.ones(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    alive = np.ones(n, dtype=bool)
    while len(members) > 1:
        average = sums / np.outer(sizes, sizes)
        average[~alive, :] = -np.inf
        average[:, ~alive] = -np.inf
        np.fill_diagonal(average, -np.inf)
        a, b = np.unravel_index(int(np.argmax(average)), average.shape)
        if average[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        members[int(a)].extend(members.pop(int(b)))
    return sorted((sorted(m) for m in members.values()), key=lambda m: (-len(m), m[0]))


def medoid(sim: np.ndarray, cluster: Sequence[int], weights: Sequence[float]) -> int:
    """The member most similar to the others (each weighted, e.g. by how often it was asked)."""
    rows = list(cluster)
    w = np.asarray([weights[i] for i in rows], dtype=np.float64)
    scores = sim[np.ix_(rows, rows)] @ w
    return rows[int(np.argmax(scores))]
