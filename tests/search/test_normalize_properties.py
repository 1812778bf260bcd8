"""Properties of the one text folding (hypothesis): idempotent, and aligned where it says so."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from search.normalize import aligned_fold, fold, normalize

HAN = st.text(st.sampled_from(list("軟體網路記憶體資訊發貨訂單退款電池保固後臺")), max_size=40)
TEXT = (
    st.text(max_size=80)
    | HAN
    | st.text(st.sampled_from(list("ＡＢＣａｂｃ１２３ﬁ㈱İẞ軟體 \t")), max_size=40)
)


@given(TEXT)
@example("記憶體")
@example("ﬁ㈱")
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(TEXT)
@example("軟體網路")
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(TEXT)
@example("記憶體很大")
@example("ﬁ軟體")
@example("e\u0301x")  # was folded apart (e, U+0301) where fold() composes é: highlights missed
@example("\u1100\u1161ﬁ")  # Hangul jamo compose to 가
@example("ﬁΑΣ")  # final sigma: lower-cased in context
def test_aligned_fold_is_fold_mapped_back_in_order(text: str) -> None:
    folded, origin = aligned_fold(text)
    assert folded == fold(text)
    assert len(origin) == len(folded)
    assert all(0 <= i < len(text) for i in origin)
    assert origin == sorted(origin)
