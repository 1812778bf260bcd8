"""Chat framing: greetings, "I'd like to ask" and thanks come out of a folded query, the words
that name the topic stay, and a query that is nothing but framing is kept whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from search.framing import without_framing
from search.normalize import normalize


def _words(text: str) -> str:
    return "".join(without_framing(normalize(text)).split())


def test_openings_and_closings_go_and_the_question_stays() -> None:
    # Folded text: NFKC makes the full-width punctuation half-width.
    assert _words("你好，我想问问发票怎么开？谢谢") == ",发票怎么开?"
    assert _words("您好，想咨询下：退货运费谁出？") == ",:退货运费谁出?"
    assert _words("請問一下，發票怎麼開？") == ",发票怎么开?"  # Traditional folds first
    assert _words("Hi, could you tell me how to reset my password? Thanks") == (
        ",howtoresetmypassword?"
    )


def test_words_that_may_name_the_topic_are_not_framing() -> None:
    for query in ("回复率是指什么", "客服电话是多少", "亲子账户怎么开", "紧急联系人怎么改"):
        assert _words(query) == "".join(normalize(query).split())


def test_english_framing_is_whole_words_only() -> None:
    assert _words("history of this policy") == "historyofthispolicy"  # not "hi" + "story"
    assert _words("thanksgiving opening hours") == "thanksgivingopeninghours"


def test_a_query_of_framing_alone_is_kept() -> None:
    assert without_framing("你好") == "你好"
    assert without_framing("thanks!") == "thanks!"


@given(st.text(alphabet=st.sampled_from("你好我想问问请一下谢谢发票怎么开? hithanks"), max_size=40))
def test_only_framing_is_taken_out(text: str) -> None:
    folded = normalize(text)
    rest = without_framing(folded)
    # What is left is the text's own characters in their order, spaces aside ...
    kept = iter(folded)
    assert all(ch in kept for ch in rest if not ch.isspace())
    # ... and a query with any word in it keeps one.
    assert any(ch.isalnum() for ch in rest) == any(ch.isalnum() for ch in folded)
