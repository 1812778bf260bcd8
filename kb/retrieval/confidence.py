"""How sure a suggested answer is, from signals calibrated on the dev sets (bench/calibrate.py).

The strongest signal measured is the fused-score margin between the top answer and the next
*different* answer: a clear winner is usually right, a photo finish often wrong. The top
hit's cosine similarity adds a floor for questions the knowledge base does not cover at all.
Near-duplicates of an answer (the same FAQ in Traditional and Simplified, say) are not
competitors, so they neither shrink the margin nor differ in confidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from kb.types import Confidence
from search.normalize import normalize
from search.types import Hit

TWIN_OVERLAP = 0.6  # char-bigram Jaccard at which two answers say the same thing


def bigrams(text: str) -> set[str]:
    folded = "".join(normalize(text).split())
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


def are_twins(a: Hit, b: Hit) -> bool:
    x, y = bigrams(a.chunk.text), bigrams(b.chunk.text)
    return bool(x and y) and len(x & y) / len(x | y) >= TWIN_OVERLAP


def top_margin(hits: Sequence[Hit]) -> float:
    """Fused score of the top hit minus that of the best hit that is not its twin."""
    if not hits:
        return 0.0
    top = hits[0]
    rival = next((h for h in hits[1:] if not are_twins(top, h)), None)
    return top.score - (rival.score if rival else 0.0)


_ORDER: dict[Confidence, int] = {"low": 0, "medium": 1, "high": 2}


def grade(
    hits: Sequence[Hit], *, high_margin: float, medium_margin: float, min_cosine: float
) -> list[Confidence]:
    """One confidence per hit, in order, never higher than the grade of a hit above it.

    A badge that rose down the list (低 above 中) would tell the agent the order is wrong.
    """
    if not hits:
        return []
    top = hits[0]
    margin = top_margin(hits)
    if (top.vector_score or 0.0) < min_cosine:
        top_grade: Confidence = "low"
    elif margin >= high_margin:
        top_grade = "high"
    elif margin >= medium_margin:
        top_grade = "medium"
    else:
        top_grade = "low"
    grades: list[Confidence] = [top_grade]
    for hit in hits[1:]:
        own: Confidence
        if are_twins(top, hit):
            own = top_grade
        elif (hit.vector_score or 0.0) >= min_cosine and top.score - hit.score < medium_margin:
            own = "medium"  # a close rival is a plausible answer too
        else:
            own = "low"
        grades.append(min(own, grades[-1], key=_ORDER.__getitem__))
    return grades
