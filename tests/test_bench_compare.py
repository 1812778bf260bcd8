"""bench/compare.py hands the other systems exactly what the product indexed (each chunk's passage
id, text and vector), and scores every system with one function and as ratios to AssistKB."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.compare import COLLECTION, export, report, run_product
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.evaluation import Query

CORPUS = [
    {"id": "p-refund", "title": "", "text": "退款会在七个工作日内原路退回。"},
    {"id": "p-invoice", "title": "", "text": "电子发票可以在订单详情页下载。"},
    {"id": "p-password", "title": "", "text": "忘记密码时可以用手机号重新设置。"},
]


def test_export_is_the_indexed_chunks_and_runs_are_scored_as_ratios(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = make_kb()
    data = "\n".join(json.dumps(row, ensure_ascii=False) for row in CORPUS).encode()
    item = IngestItem("corpus.jsonl", data, DocumentMeta(doc_type="faq"))
    [result] = ingest_items(kb, [item], collection=COLLECTION)
    assert result.status == "ingested"
    queries = [
        Query("q1", "退款多久到账", frozenset({"p-refund"})),
        Query("q2", "发票在哪里下载", frozenset({"p-invoice"})),
    ]
    export(kb, tmp_path, queries, warm=["密码"])
    chunks = json.loads((tmp_path / "chunks.json").read_text("utf-8"))
    vectors = np.load(tmp_path / "vectors.npy")
    assert sorted(c["pid"] for c in chunks) == sorted(row["id"] for row in CORPUS)
    assert vectors.shape == (len(chunks), kb.embedder.dim)
    # The product's own vector of a chunk: its passage embedded, normalised.
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    asked = json.loads((tmp_path / "queries.json").read_text("utf-8"))
    assert asked["queries"] == ["退款多久到账", "发票在哪里下载"] and asked["warm"] == ["密码"]

    ours = run_product(kb, queries, "hybrid")
    assert [r[0] for r in ours["ranked"]] == ["p-refund", "p-invoice"]
    # Another system, twice as slow, that ranks the right passage second for one query.
    theirs = {
        "ranked": [["p-refund"], ["p-refund", "p-invoice"]],
        "ms": [t * 2 for t in ours["ms"]],
    }
    run = {"assistkb": ours, "assistkb_bm25": ours, "E_ms": [1.0], "chunks": 3}
    out = report(run, run, {"runs": {"other": theirs}, "E_p50_ms": 1.0, "versions": {}}, queries)
    systems = out["systems"]
    assert (systems["assistkb"]["mrr@10"], systems["other"]["mrr@10"]) == (1.0, 0.75)
    assert systems["other"]["recall@1"] == 0.5
    assert systems["other"]["latency_p50_ratio_to_assistkb"] == 2.0
    assert systems["other"]["throughput_ratio_assistkb_over_it"] == 2.0
