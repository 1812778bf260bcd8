"""A knowledge base on Milvus (KB_VECTOR_BACKEND=milvus), through the real ingest and search paths:
the same hits as on FAISS, deletes and checks as on FAISS, and a changed setting rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from kb.context import KnowledgeBase
from kb.documents.catalog import delete_document
from kb.documents.ingestion import IngestItem, ingest_items
from kb.errors import Conflict
from kb.maintenance.check import run_check
from kb.retrieval.indexing import ensure_fresh, rebuild_index
from kb.retrieval.searching import SearchRequest, search

FAQ = (
    "question,answer\n"
    "退货运费谁出?,商品质量问题的退货运费由我们承担，其他原因由买家承担。\n"
    "多久可以退款?,仓库收到退货后三个工作日内原路退款。\n"
    "发票怎么开?,在订单详情页点击申请发票，电子发票会发到您的邮箱。\n"
    "How do I reset my password?,Open Settings, choose Security and follow the reset link.\n"
    "Can I change the delivery address?,Before shipping, edit the address on the order page.\n"
)
GUIDE = (
    "路由器无法上网时，请先检查指示灯是否常亮，再重启路由器。\n\n"
    "手机电池鼓包属于质量问题，可以到门店免费检测并更换新电池。\n\n"
    "打印机卡纸时，请关闭电源后打开后盖，轻轻取出纸张。\n"
)
QUERIES = ["退货运费", "退款要多久", "password reset", "电池鼓包了怎么办", "打印机卡纸", "地址"]


def _ingest(kb: KnowledgeBase) -> dict[str, str]:
    items = [IngestItem("faq.csv", FAQ.encode()), IngestItem("guide.txt", GUIDE.encode())]
    results = ingest_items(kb, items, collection="default")
    assert [r.status for r in results] == ["ingested", "ingested"], results
    return {r.filename: r.document_id for r in results if r.document_id}


def _hits(kb: KnowledgeBase, query: str, mode: str) -> list[tuple[str, float]]:
    """The hits, best first, in text order within a tie."""
    found = search(kb, SearchRequest(query, limit=5, mode=mode))  # type: ignore[arg-type]
    return sorted(((hit.chunk.text, round(hit.score, 4)) for hit in found), key=_by_score)


def _by_score(hit: tuple[str, float]) -> tuple[float, str]:
    return (-hit[1], hit[0])


def _same_answers(mine: KnowledgeBase, theirs: KnowledgeBase) -> None:
    for query in QUERIES:
        for mode in ("hybrid", "vector"):
            a, b = _hits(mine, query, mode), _hits(theirs, query, mode)
            assert a and a[0][1] > 0, (query, mode)
            # Which chunks fill the list with a fused 0 (neither side found them relevant) is
            # arbitrary on any backend: the scored ones must be the same, in the same order.
            assert len(a) == len(b), (query, mode)
            assert [h for h in a if h[1] > 0] == [h for h in b if h[1] > 0], (query, mode)


def test_a_milvus_knowledge_base_answers_as_the_faiss_one(
    make_kb: Callable[..., KnowledgeBase], milvus_uri: str
) -> None:
    prefix = f"e2e{uuid4().hex[:12]}"
    on_milvus = make_kb(vector_backend="milvus", milvus_uri=milvus_uri, milvus_prefix=prefix)
    on_faiss = make_kb()
    documents = _ingest(on_milvus)
    _ingest(on_faiss)
    meta = on_milvus.index_store.current_meta("default")
    assert meta is not None and meta.vector_index == "milvus-flat"
    _same_answers(on_milvus, on_faiss)
    assert run_check(on_milvus).findings == []
    # Deleting a document: the delta generation's Milvus segment serves the rest, as FAISS's.
    delete_document(on_milvus, documents["guide.txt"])
    assert all("打印机" not in text for text, _ in _hits(on_milvus, "打印机卡纸", "vector"))
    assert run_check(on_milvus).findings == []
    assert ensure_fresh(on_milvus, "default") is False


def test_changing_the_backend_rebuilds_the_index_on_the_next_start(
    make_kb: Callable[..., KnowledgeBase], milvus_uri: str
) -> None:
    on_faiss = make_kb()
    _ingest(on_faiss)
    before = {q: _hits(on_faiss, q, "hybrid") for q in QUERIES}
    data_dir = on_faiss.settings.data_dir
    on_faiss.close()
    prefix = f"e2e{uuid4().hex[:12]}"
    reopened = make_kb(
        data_dir=data_dir, vector_backend="milvus", milvus_uri=milvus_uri, milvus_prefix=prefix
    )
    assert ensure_fresh(reopened, "default") is True  # what `kb serve` does at start-up
    meta = reopened.index_store.current_meta("default")
    assert meta is not None and meta.vector_index == "milvus-flat" and meta.embedded == 0
    after = {q: _hits(reopened, q, "hybrid") for q in QUERIES}
    assert {q: [h for h in hits if h[1] > 0] for q, hits in after.items()} == {
        q: [h for h in hits if h[1] > 0] for q, hits in before.items()
    }


def test_an_index_whose_milvus_collections_are_gone_says_rebuild_until_rebuilt(
    make_kb: Callable[..., KnowledgeBase], milvus_uri: str
) -> None:
    prefix = f"e2e{uuid4().hex[:12]}"
    kb = make_kb(vector_backend="milvus", milvus_uri=milvus_uri, milvus_prefix=prefix)
    _ingest(kb)
    client = kb.vector_backend.client  # type: ignore[attr-defined]
    for name in client.list_collections():  # as a restore onto another Milvus finds them
        if name.startswith(f"{prefix}_"):
            client.drop_collection(name)
    data_dir = kb.settings.data_dir
    kb.close()
    reopened = make_kb(
        data_dir=data_dir, vector_backend="milvus", milvus_uri=milvus_uri, milvus_prefix=prefix
    )
    with pytest.raises(Conflict, match=r"is missing .*rebuild the index") as refused:
        search(reopened, SearchRequest("退货运费", limit=3))
    assert refused.value.status_code == 409  # not a 500
    assert [f.kind for f in run_check(reopened).findings] == ["generation-broken"]
    rebuild_index(reopened, "default")
    assert _hits(reopened, "退货运费", "hybrid")[0][1] > 0
    assert run_check(reopened).findings == []
