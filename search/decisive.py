"""When BM25 alone is decisive, a search need not embed its query (Meilisearch's
``results_good_enough`` in ``hybrid.rs``). Pure functions over the keyword side's numbers.

Three signals of the keyword ranking, all on the query's idf scale (its *ceiling*, the sum of
its terms' idf, the most Lucene BM25 gives any chunk):

- **coverage**: the idf-weighted share of the query's terms that the top hit contains. A
  question whose rare words all stand in one passage is answered by it.
- **margin**: how far the top hit scores above the second, over the ceiling. A photo finish
  between two passages is what the vector side is there to decide.
- **matched idf**: the idf the top hit matched, in nats. A two-word query of common words can
  be "fully covered" by many passages; it must match something rare.

The thresholds are chosen by measurement on the dev sets (``bench/skip_embedding.py``) and
live in the settings; a search records whether it skipped (the API's ``embedding_skipped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class SkipRule:
    """The measured thresholds above which the keyword ranking is served without a vector."""

    min_coverage: float
    min_margin: float
    min_matched_idf: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ValueError(f"min_coverage must lie in [0, 1], got {self.min_coverage}")
        if not 0.0 <= self.min_margin <= 1.0:
            raise ValueError(f"min_margin must lie in [0, 1], got {self.min_margin}")
        if self.min_matched_idf < 0.0:
            raise ValueError(f"min_matched_idf must be >= 0, got {self.min_matched_idf}")

    def as_dict(self) -> dict[str, Any]:
        """Every field, for the JSON of an evaluation or a benchmark."""
        return asdict(self)


@dataclass(frozen=True)
class KeywordEvidence:
    """How decisive one query's keyword ranking is (see the module docstring)."""

    coverage: float
    margin: float
    matched_idf: float


def keyword_evidence(
    keyword: Sequence[tuple[int, float]], top_matched_idf: float, ceiling: float
) -> KeywordEvidence:
    """The evidence of a BM25 top list (best first, raw scores) whose first hit matched
    ``top_matched_idf`` of the query's ``ceiling``."""
    if not keyword or ceiling <= 0.0:
        return KeywordEvidence(0.0, 0.0, 0.0)
    first = keyword[0][1]
    second = keyword[1][1] if len(keyword) > 1 else 0.0
    return KeywordEvidence(
        # Rounded: a top hit holding every term covers 1.0, not 0.99999999 of summed floats.
        coverage=round(min(1.0, top_matched_idf / ceiling), 6),
        margin=min(1.0, max(0.0, first - second) / ceiling),
        matched_idf=top_matched_idf,
    )


def is_decisive(evidence: KeywordEvidence, rule: SkipRule) -> bool:
    """Whether the keyword ranking is good enough to serve without embedding the query."""
    return (
        evidence.coverage >= rule.min_coverage
        and evidence.margin >= rule.min_margin
        and evidence.matched_idf >= rule.min_matched_idf
    )
