"""Metrics are right on hand-checked rankings, and `kb eval` runs the real path end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.retrieval.evaluation import (
    PassageRef,
    evaluate,
    load_queries,
    passage_id,
    percentile,
    score_ranking,
)
from kb.retrieval.vocabulary import Vocabulary
from kb.settings import Settings
from search.types import IndexedChunk


@pytest.mark.parametrize(
    ("ranked", "relevant", "expected"),
    [
        (["a", "b", "c"], {"a"}, {"recall@1": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}),
        (["x", "a", "c"], {"a"}, {"recall@1": 0.0, "recall@5": 1.0, "mrr@10": 0.5}),
        (["x", "y"], {"a"}, {"recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}),
        (["a", "x", "b"], {"a", "b"}, {"recall@1": 0.5, "recall@5": 1.0, "mrr@10": 1.0}),
        ([*"xxxxxxxxxx", "a"], {"a"}, {"recall@10": 0.0, "mrr@10": 0.0}),
    ],
)
def test_score_ranking(ranked: list[str], relevant: set[str], expected: dict[str, float]) -> None:
    scores = score_ranking(ranked, frozenset(relevant))
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value), name


def test_evaluate_small_corpus(tmp_path: Path, embedding_cache_dir: Path) -> None:
    passages = [
        ("p1", "退货政策", "签收七天内商品未使用可以无理由退货。"),
        ("p2", "配送", "下午四点前付款当天发货，顺丰快递。"),
        ("p3", "保修", "整机保修一年，电机和电池保修两年。"),
        ("p4", "Invoices", "Electronic invoices are e-mailed within 24 hours of delivery."),
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"id": i, "title": t, "text": x}, ensure_ascii=False) for i, t, x in passages
        ),
        encoding="utf-8",
    )
    queries = tmp_path / "queries.jsonl"
    rows = [("q1", "电池保修", ["p3"]), ("q2", "when do I get my invoice", ["p4"])]
    queries.write_text(
        "\n".join(
            json.dumps({"id": i, "query": q, "relevant_ids": r}, ensure_ascii=False)
            for i, q, r in rows
        ),
        encoding="utf-8",
    )
    # In four passages no word is rare (idf at most 1.2 nats): no idf floor here, so BM25 can
    # be decisive at all.
    settings = Settings(
        data_dir=tmp_path / "data", cache_dir=embedding_cache_dir, skip_min_matched_idf=0.0
    )
    result = evaluate(settings, corpus, queries, modes=("hybrid", "bm25"))
    for key in (
        "queries",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "p50_ms",
        "p95_ms",
    ):
        assert key in result
    assert result["queries"] == 2 and result["chunks"] == 4
    assert result["recall@1"] == 1.0
    assert result["baselines"]["bm25"]["queries"] == 2
    # The skip rule in force and how many hybrid searches it served by BM25 alone: q1's words
    # (电池, 保修) stand in p3 alone; most of q2's words are not in the invoice passage.
    assert result["skip_embedding"] == settings.skip_rule.as_dict()  # type: ignore[union-attr]
    assert result["embedding_skipped_share"] == 0.5
    assert result["baselines"]["bm25"]["embedding_skipped_share"] == 0.0
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_evaluate_with_a_vocabulary_measures_what_it_does(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    passages = [("p1", "退款到账时间：三到五个工作日原路退回。"), ("p2", "钱包余额可以提现。")]
    corpus.write_text(
        "\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in passages),
        encoding="utf-8",
    )
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        json.dumps({"id": "q1", "query": "退钱要几天", "relevant_ids": ["p1"]}, ensure_ascii=False),
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)

    plain = evaluate(settings, corpus, queries, modes=("bm25",))
    with_synonyms = evaluate(
        settings, corpus, queries, modes=("bm25",), vocabulary=Vocabulary(synonyms="退款,退钱")
    )

    assert plain["mrr@10"] == 0.0  # 退钱 is not a word of either passage
    assert with_synonyms["mrr@10"] == 1.0
    assert with_synonyms["vocabulary"] == {"words": 0, "synonym_sets": 1}
    assert plain["vocabulary"] == {"words": 0, "synonym_sets": 0}


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([], 50, None), ([5.0], 95, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([*range(1, 21)], 95, 19)],
)
def test_percentile_is_nearest_rank(
    values: list[float], pct: float, expected: float | None
) -> None:
    assert percentile(sorted(float(v) for v in values), pct) == expected


@pytest.mark.parametrize(
    ("ref", "section", "text", "matches"),
    [
        (
            PassageRef("X1 说明书", section="6.2 无法回充"),
            ("第6章", "6.2 无法回充"),
            "检查充电座",
            True,
        ),
        (
            PassageRef("X1 说明书", section="6.2 无法回充"),
            ("第6章", "6.3 吸力下降"),
            "检查充电座",
            False,
        ),
        (
            PassageRef("X1 说明书", text="C09"),
            ("6.1 故障码一览",),
            "故障码: C09; 含义: 充电异常",
            True,
        ),
        (PassageRef("X1 说明书", text="C09"), ("6.1 故障码一览",), "故障码: C08", False),
        (PassageRef("Air 说明书", text="C09"), ("6.1 故障码一览",), "故障码: C09", False),
    ],
)
def test_passage_ref_matches_by_document_and_section_or_span(
    ref: PassageRef, section: tuple[str, ...], text: str, matches: bool
) -> None:
    chunk = IndexedChunk(
        chunk_id="c1",
        text=text,
        index_text=text,
        document_id="d1",
        document_title="X1 说明书",
        version=1,
        section=section,
    )
    assert ref.matches(chunk) is matches
    assert passage_id(chunk, [ref]) == (ref.label if matches else "c1")


def test_queries_may_name_relevant_passages_instead_of_ids(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    row = {"id": "m1", "query": "充不进电", "relevant_passages": [{"document": "D", "text": "C09"}]}
    path.write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    [query] = load_queries(path)
    assert query.relevant == frozenset({"D › 'C09'"})
    assert query.passages == (PassageRef("D", text="C09"),)
