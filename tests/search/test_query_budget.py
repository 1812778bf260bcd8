"""A long query is read within a budget (embedded words, BM25 terms); a short one exactly as is."""

from __future__ import annotations

import numpy as np
import pytest

from kb.settings import Settings
from search.embedders import Embedder
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.normalize import normalize
from search.query_budget import (
    CHARS_PER_WORD,
    DEFAULT_BUDGET,
    BoundedQuery,
    QueryBudget,
    bound,
    embed_text,
    is_meta,
    is_question,
    shared,
    units,
    words,
)
from search.tokenize import TermGroup, Tokenizer

FUSION = Settings().fusion_config

# A customer's long story about other things (the corpus's coupons, printer, address and
# invoices are all named in it); what they ask is only in the last sentence.
STORY = [
    "你好，在吗？",
    "上个月我在你们店里买了一台打印机，用了两个星期以后开始卡纸，我按说明书关掉电源取出了纸张。",
    "后来我又用优惠券买了一些墨盒，结算的时候才发现优惠券不能和会员折扣一起用，有点失望。",
    "发货以前我还改过一次收货地址，因为我搬家了，新的地址在城市的另一边，离公司比较近。",
    "发票我是在订单页面下载的，格式是PDF，公司财务说可以报销，这一点还算方便。",
    "我的朋友也在你们这里买过路由器，说网络连接有时候不稳定，需要重启才能恢复正常。",
]
QUESTION = "现在我的手机电池鼓起来了，这种情况可以免费换新电池吗？"


def long_message(rounds: int = 8) -> str:
    """About 2,000 characters: the story told with a new day each round, then the question."""
    told = [STORY[0]]
    for day in range(1, rounds + 1):
        told.extend(f"第{day}天，{sentence}" for sentence in STORY[1:])
    return "".join([*told, QUESTION, "谢谢，麻烦尽快回复！"])


@pytest.fixture(scope="module")
def searcher(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> HybridSearcher:
    return HybridSearcher(built[1], e5, tokenizer, FUSION)


def bounded(
    searcher: HybridSearcher, query: str, budget: QueryBudget | None = None
) -> tuple[str, list[TermGroup], BoundedQuery]:
    text = normalize(query)
    terms = searcher.tokenizer.query_terms(text)
    return (
        text,
        terms,
        bound(text, searcher.generation.bm25.idf, searcher.tokenizer.query_terms, budget),
    )


def test_long_message_is_about_two_thousand_characters() -> None:
    assert 1800 <= len(long_message()) <= 2000  # KB_MAX_QUERY_CHARS accepts it


def test_long_query_is_bounded_and_keeps_its_question(searcher: HybridSearcher) -> None:
    text, terms, got = bounded(searcher, long_message())
    assert len(terms) > 3 * DEFAULT_BUDGET.bm25_terms  # the message has far more to read
    assert words(got.embed) <= DEFAULT_BUDGET.embed_words
    assert len(got.embed) < len(text) / 10
    assert normalize(QUESTION) in got.embed
    assert len(got.terms) <= DEFAULT_BUDGET.bm25_terms
    assert set(got.terms) <= set(searcher.tokenizer.query_terms(got.embed))
    # The question's words the corpus holds are all scored.
    asked = {t for t in searcher.tokenizer.query_terms(normalize(QUESTION))}
    held = {t for t in asked if searcher.generation.bm25.idf(t) > 0}
    assert held and held <= set(got.terms)


@pytest.mark.parametrize(
    "query",
    [
        "https://example.com/" + "x" * 1500 + " how do I reset my password?",  # one long "word"
        "x" * 1900,
        "打印机" * 600,
    ],
)
def test_a_message_of_few_long_words_is_bounded_by_characters(
    searcher: HybridSearcher, query: str
) -> None:
    _, _, got = bounded(searcher, query)
    assert len(got.embed) <= DEFAULT_BUDGET.embed_words * CHARS_PER_WORD
    assert words(got.embed) <= DEFAULT_BUDGET.embed_words
    assert len(got.terms) <= DEFAULT_BUDGET.bm25_terms


def test_bm25_keeps_the_rarest_terms_up_to_its_cap(searcher: HybridSearcher) -> None:
    budget = QueryBudget(whole_words=128, embed_words=64, bm25_terms=3)
    _, _, got = bounded(searcher, long_message(), budget)
    terms = searcher.tokenizer.query_terms(got.embed)
    assert len(terms) > 3
    idf = searcher.generation.bm25.idf
    assert len(got.terms) == 3
    assert sorted(idf(t) for t in got.terms) == sorted(idf(t) for t in terms)[-3:]
    assert got.terms == [t for t in terms if t in got.terms]  # in the query's own order


@pytest.mark.parametrize(
    "query",
    [
        "信用卡付款失败",
        "How can I reset my password?",
        "积分能抵扣现金吗",
        "你好，我上周下的订单一直没有发货，请问一般下单后多久发货？节假日会顺延吗？谢谢！",
        "Hello, I bought the router last month and it keeps dropping the connection every "
        "evening; the lights look normal. What should I check first?",
        # as long as a suggestion's own selection of a conversation gets (<= 120 words)
        "我的扫地机器人买了五天，放到充电座上指示灯也不亮，换了插座还是一样，说明书上的办法都试过了，"
        "客服电话一直占线，这周末家里来客人急着用，能不能直接给我换一台新的？运费谁出？退款多久到账？",
    ],
)
def test_short_query_is_read_exactly_as_before(searcher: HybridSearcher, query: str) -> None:
    text, terms, got = bounded(searcher, query)
    assert got.embed == text  # byte for byte what was embedded before budgets existed
    assert got.terms == terms


def test_search_embeds_the_bounded_text(searcher: HybridSearcher, e5: Embedder) -> None:
    text, _, got = bounded(searcher, long_message())
    signals = searcher.signals(text, depth=5)
    assert len(signals.terms) <= DEFAULT_BUDGET.bm25_terms
    row, cosine = signals.dense[0]
    expected = (
        searcher.generation.vectors.vectors(np.asarray([row])) @ e5.embed_queries([got.embed])[0]
    )
    assert cosine == pytest.approx(float(expected[0]), abs=1e-4)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "bm25"])
def test_answer_named_only_in_the_last_sentence_is_found(
    searcher: HybridSearcher, mode: str
) -> None:
    hits = searcher.search(long_message(), limit=3, mode=mode)  # type: ignore[arg-type]
    assert hits[0].chunk.chunk_id == "battery"


def test_english_long_message_keeps_its_question(searcher: HybridSearcher) -> None:
    story = " ".join(
        f"On day {n} I printed the invoice from the Orders page and read the privacy notice "
        "again, and the printer jammed while the coupon would not apply at checkout."
        for n in range(1, 12)
    )
    query = f"Hi there. {story} How do I reset my password? Thanks a lot!"
    _, _, got = bounded(searcher, query)
    assert words(got.embed) <= DEFAULT_BUDGET.embed_words
    assert "how do i reset my password?" in got.embed
    assert searcher.search(query, limit=1)[0].chunk.chunk_id == "password"


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        # the question asked, not the greeting that asks "在吗?"
        ("你好,在吗?打印机卡纸了。电池鼓包能换吗?谢谢!", 7, "电池鼓包能换吗?"),
        # a message without question marks: a question word makes the question
        ("电池鼓包了。打印机卡纸怎么办。谢谢,麻烦尽快回复!", 8, "打印机卡纸怎么办。"),
        # the last sentence asks without a question mark, though an earlier one had one
        ("电池能换吗?打印机卡纸了。打印机卡纸怎么办。", 8, "打印机卡纸怎么办。"),
        # nothing asked: the last sentence with a topic, not the thanks after it
        ("打印机卡纸了。电池鼓包了。谢谢!", 5, "电池鼓包了。"),
        # one unit over the budget: its end, where the question is
        ("打印机用了很久以后现在卡纸了怎么办", 6, "卡纸了怎么办"),
    ],
)
def test_embed_text_keeps_the_question(text: str, budget: int, expected: str) -> None:
    assert embed_text(text, budget, lambda unit, asked: 0.0) == expected


def test_embed_text_adds_related_units_in_message_order() -> None:
    text = "电池鼓包了。今天天气很好。手机电池用了一年。打印机卡纸了。电池鼓包能换吗?"
    shared = {"电池鼓包了。": 0.6, "手机电池用了一年。": 0.3, "今天天气很好。": 0.0}
    shared["打印机卡纸了。"] = 0.1
    got = embed_text(text, 40, lambda unit, asked: shared[unit])
    assert (
        got == "电池鼓包了。手机电池用了一年。电池鼓包能换吗?"
    )  # nothing unrelated, though it fits
    assert embed_text(text, 16, lambda unit, asked: shared[unit]) == "电池鼓包了。电池鼓包能换吗?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("打印机卡纸了。电池鼓包了。还能怎么办?", "电池鼓包了。还能怎么办?"),
        ("The printer jams. My battery is swollen. What should I do?",
         "My battery is swollen. What should I do?"),
    ],
)  # fmt: skip
def test_a_question_naming_no_topic_takes_the_unit_before_it(text: str, expected: str) -> None:
    assert embed_text(text, 40, lambda unit, asked: 0.0) == expected


@pytest.mark.parametrize(
    ("unit", "question", "share"),
    [
        ("手机电池鼓包了", "电池鼓包可以换吗?", 1.0),  # 电池 池鼓 鼓包: all the question's pairs
        ("今天天气很好", "电池鼓包可以换吗?", 0.0),
        ("my battery is swollen", "can the battery be replaced?", 0.5),
        ("anything", "吗?", 0.0),  # a question of function words only shares nothing
    ],
)
def test_shared_is_the_share_of_the_question_words(unit: str, question: str, share: float) -> None:
    assert shared(unit, question) == pytest.approx(share)


@pytest.mark.parametrize(
    ("unit", "meta"),
    [
        ("你好,在吗?", True),
        ("谢谢,麻烦尽快回复!", True),
        ("hello, i hope you can help me.", True),
        ("麻烦问一下退货运费谁出?", False),
        ("can you help me reset my password?", False),
        ("电池鼓包了", False),
    ],
)
def test_greetings_and_thanks_name_no_topic(unit: str, meta: bool) -> None:
    assert is_meta(unit) is meta


@pytest.mark.parametrize(
    ("unit", "marked", "question"),
    [
        ("电池鼓包能换吗", True, True),
        ("怎么按都开不了机。", True, False),
        ("怎么按都开不了机。", False, True),
        ("how do i reset it", True, True),
        ("the printer jammed.", False, False),
    ],
)
def test_is_question(unit: str, marked: bool, question: bool) -> None:
    assert is_question(unit, marked=marked) is question


def test_units_cut_a_run_on_sentence_at_its_clauses() -> None:
    run_on = "我买了打印机,用了两周,开始卡纸,关掉电源,取出纸张,还是卡纸"
    assert units(run_on, 10) == ["我买了打印机,", "用了两周,", "开始卡纸,", "关掉电源,",
                                 "取出纸张,", "还是卡纸"]  # fmt: skip
    assert units(run_on, 100) == [run_on]


@pytest.mark.parametrize(
    ("whole", "embed", "terms", "message"),
    [(128, 0, 10, "at least 1 word"), (128, 64, 0, "at least 1 word"), (32, 64, 10, "read whole")],
)
def test_rejects_an_impossible_budget(whole: int, embed: int, terms: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueryBudget(whole_words=whole, embed_words=embed, bm25_terms=terms)


def test_idf_is_what_bm25_can_add(searcher: HybridSearcher) -> None:
    bm25 = searcher.generation.bm25
    assert bm25.idf("不存在的词") == 0.0
    scores = bm25.scores(["鼓包"])
    assert np.count_nonzero(scores) == 1
    assert float(scores.max()) <= bm25.idf("鼓包") + 1e-6
    assert bm25.idf("鼓包") > bm25.idf("订单")  # rarer is worth more
