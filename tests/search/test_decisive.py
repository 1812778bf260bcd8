"""When BM25 alone is decisive: the evidence of a keyword top list, and the rule over it."""

from __future__ import annotations

import pytest

from search.decisive import KeywordEvidence, SkipRule, is_decisive, keyword_evidence

RULE = SkipRule(min_coverage=0.9, min_margin=0.2, min_matched_idf=5.0)


@pytest.mark.parametrize(
    ("keyword", "matched", "ceiling", "expected"),
    [
        ([], 0.0, 10.0, KeywordEvidence(0.0, 0.0, 0.0)),
        ([(3, 8.0)], 10.0, 10.0, KeywordEvidence(1.0, 0.8, 10.0)),  # no rival: margin is all
        ([(3, 8.0), (1, 6.0)], 9.0, 10.0, KeywordEvidence(0.9, 0.2, 9.0)),
        ([(3, 5.0), (1, 5.0)], 4.0, 8.0, KeywordEvidence(0.5, 0.0, 4.0)),  # a tie
        ([(3, 5.0)], 3.0, 0.0, KeywordEvidence(0.0, 0.0, 0.0)),  # no idf: no evidence
    ],
)
def test_keyword_evidence(
    keyword: list[tuple[int, float]], matched: float, ceiling: float, expected: KeywordEvidence
) -> None:
    assert keyword_evidence(keyword, matched, ceiling) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("evidence", "decisive"),
    [
        (KeywordEvidence(1.0, 0.5, 12.0), True),
        (KeywordEvidence(0.9, 0.2, 5.0), True),  # thresholds are inclusive
        (KeywordEvidence(0.89, 0.5, 12.0), False),  # a rare query word the top hit lacks
        (KeywordEvidence(1.0, 0.19, 12.0), False),  # a photo finish
        (KeywordEvidence(1.0, 0.5, 4.9), False),  # only common words matched
    ],
)
def test_is_decisive(evidence: KeywordEvidence, decisive: bool) -> None:
    assert is_decisive(evidence, RULE) is decisive


@pytest.mark.parametrize(
    "fields",
    [
        {"min_coverage": 1.1, "min_margin": 0.1, "min_matched_idf": 0.0},
        {"min_coverage": 0.5, "min_margin": -0.1, "min_matched_idf": 0.0},
        {"min_coverage": 0.5, "min_margin": 0.1, "min_matched_idf": -1.0},
    ],
)
def test_rule_refuses_values_out_of_range(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        SkipRule(**fields)
