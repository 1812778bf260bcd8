"""Property of the query builder (hypothesis): a customer who wrote words is searched for."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from kb.assist.conversation import Turn, build_query

# Pleasantries and meta words the selection drops, mixed with free text and punctuation, so
# the examples reach the branches that throw text away.
_PIECES = st.sampled_from([
    "你好", "谢谢", "謝謝", "麻烦尽快回复", "請盡快回覆", "请问", "亲", "在吗", "回复率", "尽快",
    "please", "thanks", "sorry", "asap", "let me know", "hi", "ok", "How do I", "怎么",
    "？", "?", "！", "!", "，", ",", "。", ".", "~", " ", "\n", "…",
])  # fmt: skip
_TEXT = st.lists(_PIECES | st.text(max_size=6), max_size=12).map("".join)
_TURNS = st.lists(
    st.tuples(st.sampled_from(["customer", "agent"]), _TEXT).map(lambda rt: Turn(*rt)),
    min_size=1,
    max_size=5,
)
_SEARCHABLE = re.compile(r"[^\W\d_]|[\u3400-\u9fff\uf900-\ufaff]")


@given(_TURNS)
@example([Turn("customer", "麻烦尽快回复，谢谢！！")])
@example([Turn("customer", "谢谢"), Turn("customer", "！")])
@example([Turn("customer", "Could you please let me know?")])
@example([Turn("customer", "谢谢:\x1b")])
@example([Turn("customer", "\x1b谢谢")])
def test_customer_words_never_give_an_empty_query(turns: list[Turn]) -> None:
    if not any(t.role == "customer" and _SEARCHABLE.search(t.text) for t in turns):
        return
    plan = build_query(turns)
    assert plan.query.strip()
    assert re.search(r"[^\W_]", plan.query), (turns, plan)
