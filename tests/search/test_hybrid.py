from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from kb.settings import Settings
from search.decisive import SkipRule
from search.embedders import Embedder
from search.embedders.base import EmbedderUnavailableError
from search.encoder import QueryEncoder
from search.hybrid import HybridSearcher, Mode
from search.index import Generation, IndexStore
from search.normalize import normalize
from search.tokenize import Tokenizer
from search.types import SearchFilters

FUSION = Settings().fusion_config  # the one source of fusion defaults


@pytest.fixture(scope="module")
def searcher(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> HybridSearcher:
    return HybridSearcher(built[1], e5, tokenizer, FUSION)


MODES: list[Mode] = ["hybrid", "bm25", "vector"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Traditional queries find Simplified passages, and the other way round
        ("我的軟體連不上網路", "network"),
        ("印表機卡紙怎麼辦", "printer"),
        ("信用卡付款失败", "card"),
        ("How can I reset my password?", "password"),
        ("积分能抵扣现金吗", "points"),
    ],
)
def test_finds_the_passage(searcher: HybridSearcher, mode: Mode, query: str, expected: str) -> None:
    hits = searcher.search(query, limit=3, mode=mode)
    assert hits[0].chunk.chunk_id == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query", ["", "   ", "\n\t\u3000"])
def test_empty_query_gives_nothing(searcher: HybridSearcher, mode: Mode, query: str) -> None:
    assert searcher.search(query, mode=mode) == []


def test_query_without_words_has_no_keyword_hits(searcher: HybridSearcher) -> None:
    assert searcher.search("，。？", mode="bm25") == []


def test_hybrid_hits_carry_both_signals(searcher: HybridSearcher) -> None:
    hits = searcher.search("电池鼓包可以免费更换吗", limit=5)
    assert len(hits) == 5
    top = hits[0]
    assert top.chunk.chunk_id == "battery"
    assert (top.bm25_rank, top.vector_rank) == (1, 1)
    assert top.bm25_score is not None and top.bm25_score > 0
    assert top.vector_score is not None and 0 < top.vector_score <= 1
    # First for both; BM25 counts as its share of the query's best possible score, not as 1.0.
    ceiling = searcher.signals(normalize("电池鼓包可以免费更换吗"), 50).bm25_ceiling
    assert top.score == pytest.approx(
        searcher.config.alpha + (1 - searcher.config.alpha) * top.bm25_score / ceiling
    )
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(h.vector_score is not None for h in hits)


def test_single_retriever_modes_report_their_own_score(searcher: HybridSearcher) -> None:
    keyword = searcher.search("发票", mode="bm25", limit=10)
    assert all(h.vector_score is None and h.score == h.bm25_score for h in keyword)
    dense = searcher.search("发票", mode="vector", limit=3)
    assert all(h.bm25_score is None and h.score == h.vector_score for h in dense)
    assert [h.vector_rank for h in dense] == [1, 2, 3]


def test_rrf_fusion(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> None:
    rrf = HybridSearcher(
        built[1], e5, tokenizer, replace(FUSION, method="rrf", rrf_k=60, vector_weight=2.0)
    )
    hits = rrf.search("打印机卡纸", limit=4)
    assert hits[0].chunk.chunk_id == "printer"
    assert hits[0].score == pytest.approx(1.0)  # first for both retrievers
    assert all(0.0 <= h.score <= 1.0 for h in hits)


@pytest.mark.parametrize(("fusion", "alpha"), [("borda", 0.5), ("convex", 1.2)])
def test_rejects_bad_fusion_settings(
    built: tuple[IndexStore, Generation],
    e5: Embedder,
    tokenizer: Tokenizer,
    fusion: str,
    alpha: float,
) -> None:
    with pytest.raises(ValueError):
        HybridSearcher(built[1], e5, tokenizer, replace(FUSION, method=fusion, alpha=alpha))  # type: ignore[arg-type]


def test_limit(searcher: HybridSearcher) -> None:
    assert len(searcher.search("订单", limit=2)) == 2
    assert searcher.search("订单", limit=0) == []


REFUND_QUERY = "退款政策"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (SearchFilters(doc_types=("policy",)), {"refund", "refund-old", "coupon"}),
        (
            SearchFilters(doc_types=("faq", "policy")),
            {"refund", "refund-old", "coupon", "points", "shipping"},
        ),
        (SearchFilters(tags=("refund", "policy")), {"refund", "refund-old"}),
        (SearchFilters(tags=("refund", "network")), set()),
        (SearchFilters(products=("shop",)), {"refund", "refund-old", "shipping", "card"}),
        (SearchFilters(languages=("zh",)), {"refund", "refund-old", "network", "card"}),
        (SearchFilters(languages=("zh-hant",)), {"card"}),
        (SearchFilters(languages=("EN",)), {"password"}),
        (SearchFilters(document_ids=("doc-refund", "doc-card")), {"refund", "card"}),
        (SearchFilters(products=("nonexistent",)), set()),
        (
            SearchFilters(doc_types=("policy",), valid_on=date(2025, 6, 1)),
            {"refund", "coupon"},  # the expired policy is never suggested
        ),
        (
            SearchFilters(doc_types=("policy",), valid_on=date(2023, 6, 1)),
            {"refund-old", "coupon"},  # and the new one was not valid yet
        ),
    ],
)
def test_filters(
    searcher: HybridSearcher, mode: Mode, filters: SearchFilters, allowed: set[str]
) -> None:
    hits = searcher.search(REFUND_QUERY, limit=20, filters=filters, mode=mode)
    found = {h.chunk.chunk_id for h in hits}
    assert found <= allowed
    if mode != "bm25":  # the vector side ranks every allowed chunk
        assert found == allowed


def test_filter_applies_before_the_limit(searcher: HybridSearcher) -> None:
    hits = searcher.search("退款", limit=1, filters=SearchFilters(products=("phone",)))
    assert [h.chunk.chunk_id for h in hits] == ["battery"]


def test_highlight_marks_query_terms_on_original_text(searcher: HybridSearcher) -> None:
    card = searcher.search("信用卡付款失败", limit=1)[0]
    # Simplified query terms, marks on the Traditional original (adjacent marks merge)
    assert (
        card.highlight == "<mark>信用卡付款失敗</mark>時，請確認卡片資訊是否正確，並聯絡發卡銀行。"
    )
    password = searcher.search("reset password", limit=1)[0]
    assert "<mark>reset</mark> your <mark>password</mark>" in password.highlight


@pytest.mark.parametrize(
    ("query", "chunk_id", "reach"),
    [
        ("battery replacement", "battery", 0.0),  # BM25 cannot read Chinese with English words
        ("battery replacement", "warranty", 1.0),
        ("手机电池坏了", "warranty", 0.0),
        ("手机电池坏了", "battery", 1.0),
        ("PDF 发票", "invoice", 1.0),  # a query in both scripts may match any chunk
    ],
)
def test_reach_is_the_share_of_a_chunk_in_the_query_scripts(
    searcher: HybridSearcher, query: str, chunk_id: str, reach: float
) -> None:
    signals = searcher.signals(normalize(query), len(searcher.generation.chunks))
    by_id = {
        searcher.generation.chunks[row].chunk_id: value for row, value in signals.reach.items()
    }
    assert by_id[chunk_id] == pytest.approx(reach)


def test_a_filter_every_chunk_passes_restricts_nothing(searcher: HybridSearcher) -> None:
    every_type = tuple({c.doc_type for c in searcher.generation.chunks})
    assert searcher.mask(SearchFilters(doc_types=every_type)) is None
    # a date on which a policy has expired still filters
    mask = searcher.mask(SearchFilters(valid_on=date(2025, 6, 1)))
    assert mask is not None and not mask.all()


def test_date_filter_on_an_undated_collection_is_an_unfiltered_search(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> None:
    # The same index with no validity dates: suggest's "valid today" filter restricts nothing,
    # so the vector search must stay unfiltered (a filtered FAISS search is the slow path).
    generation = built[1]
    undated = [replace(c, valid_from=None, valid_to=None) for c in generation.chunks]
    plain = HybridSearcher(replace(generation, chunks=undated), e5, tokenizer, FUSION)
    today = SearchFilters(valid_on=date.today())
    assert plain.mask(today) is None
    filtered = plain.search(REFUND_QUERY, limit=10, filters=today)
    unfiltered = plain.search(REFUND_QUERY, limit=10)
    assert [(h.chunk.chunk_id, h.score) for h in filtered] == [
        (h.chunk.chunk_id, h.score) for h in unfiltered
    ]


class _Counting:
    """The real embedder, counting the query texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.embedded: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


SKIP = SkipRule(min_coverage=1.0, min_margin=0.3, min_matched_idf=4.0)


@pytest.fixture
def skipping(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> tuple[HybridSearcher, _Counting]:
    counting = _Counting(e5)
    searcher = HybridSearcher(built[1], QueryEncoder(counting), tokenizer, FUSION, SKIP)
    return searcher, counting


def test_a_decisive_keyword_ranking_is_served_without_embedding(
    skipping: tuple[HybridSearcher, _Counting], searcher: HybridSearcher
) -> None:
    skipper, counting = skipping
    query = "打印机卡纸"  # both words stand in one passage only
    result = skipper.run(query, limit=5)
    assert result.embedding_skipped and counting.embedded == []
    assert [h.chunk.chunk_id for h in result.hits] == [
        h.chunk.chunk_id for h in searcher.search(query, limit=5, mode="bm25")
    ]
    top = result.hits[0]
    assert top.chunk.chunk_id == "printer" and 0.0 < top.score <= 1.0
    assert top.vector_score is None and top.bm25_rank == 1 and "<mark>" in top.highlight


@pytest.mark.parametrize(
    "query",
    [
        "积分",  # one word: too little idf matched to be sure
        "我的软件连不上网络怎么办",  # words no passage holds lower the coverage
        "退款政策",  # two refund policies: a photo finish
    ],
)
def test_a_query_bm25_does_not_settle_is_embedded(
    skipping: tuple[HybridSearcher, _Counting], searcher: HybridSearcher, query: str
) -> None:
    skipper, counting = skipping
    result = skipper.run(query, limit=5)
    assert not result.embedding_skipped and counting.embedded == [normalize(query)]
    assert [h.chunk.chunk_id for h in result.hits] == [
        h.chunk.chunk_id for h in searcher.search(query, limit=5)
    ]


def test_a_memoised_vector_does_not_change_a_decisive_ranking(
    skipping: tuple[HybridSearcher, _Counting],
) -> None:
    # The memo is one process's: were it to decide, two web processes (or one, before and after
    # a suggestion) would rank the same query differently (tests/test_scale_out.py saw it).
    skipper, counting = skipping
    query = "打印机卡纸"
    before = skipper.run(query, limit=5)
    assert isinstance(skipper.embedder, QueryEncoder)
    skipper.embedder.encode(normalize(query))  # another caller embedded it meanwhile
    after = skipper.run(query, limit=5)
    assert before.embedding_skipped and after.embedding_skipped
    assert [(h.chunk.chunk_id, h.score) for h in after.hits] == [
        (h.chunk.chunk_id, h.score) for h in before.hits
    ]
    assert counting.embedded == [normalize(query)]  # only the explicit encode
    fused = skipper.run(query, limit=5, may_skip=False)  # a caller that wants both signals
    assert not fused.embedding_skipped and fused.hits[0].vector_score is not None


def test_only_hybrid_searches_skip(skipping: tuple[HybridSearcher, _Counting]) -> None:
    skipper, counting = skipping
    vector = skipper.run("打印机卡纸", limit=3, mode="vector")
    assert not vector.embedding_skipped and counting.embedded == ["打印机卡纸"]
    assert not skipper.run("打印机卡纸", limit=3, mode="bm25").embedding_skipped


class _Down(_Counting):
    """The real embedder behind a server that is down: every query embedding fails."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        raise EmbedderUnavailableError("embedding server http://embed:8000: cannot be reached")


def test_a_hybrid_search_serves_bm25_alone_when_the_embedder_is_down(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> None:
    down = _Down(e5)
    searcher = HybridSearcher(built[1], QueryEncoder(down), tokenizer, FUSION)
    query = "退款政策"  # BM25 alone does not settle it: a hybrid search would embed it
    result = searcher.run(query, limit=5)
    assert result.degraded == "embedder_unavailable" and not result.embedding_skipped
    assert down.embedded == [normalize(query)]
    keyword = searcher.run(query, limit=5, mode="bm25")
    assert keyword.degraded is None
    assert [h.chunk.chunk_id for h in result.hits] == [h.chunk.chunk_id for h in keyword.hits]
    assert all(h.vector_score is None and 0.0 < h.score <= 1.0 for h in result.hits)
    with pytest.raises(EmbedderUnavailableError):
        searcher.run(query, limit=5, mode="vector")
    with pytest.raises(EmbedderUnavailableError):  # an evaluation's hybrid must be hybrid
        searcher.run(query, limit=5, may_degrade=False)
    # A caller that knows the embedder is down does not ask it again.
    told = searcher.run("打印机卡纸", limit=5, may_embed=False)
    assert told.degraded == "embedder_unavailable" and told.hits[0].chunk.chunk_id == "printer"
    assert down.embedded == [normalize(query)] * 3
