"""Properties of redaction (hypothesis): idempotent, and no personal number survives it."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from kb.assist.redaction import redact, redact_obj

# Text around the numbers: Chinese, punctuation and spaces, never a letter or digit that would
# glue onto a number and make it part of a longer code.
CONTEXT = st.text(st.sampled_from(list("我的电话是，请联系邮箱。 ：（）\n退款订单")), max_size=20)
PERSONAL = st.sampled_from(
    [
        "13812345678", "+86 138 1234 5678", "１３８１２３４５６７８", "0912-345-678",
        "010-12345678", "wang.li@example.com", "4111 1111 1111 1111", "6222021234567890128",
        "11010519491231002X", "A123456789", "A123456(3)",
    ]
)  # fmt: skip


@given(st.text(max_size=120) | st.text(st.sampled_from(list("0123456789 -+()@.xX")), max_size=60))
@example("13812345678 [PHONE]")
@example("+86 138 1234 5678 138 1234 5678")
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@given(CONTEXT, PERSONAL, CONTEXT)
def test_no_personal_number_survives(before: str, personal: str, after: str) -> None:
    redacted = redact(f"{before} {personal} {after}")
    assert personal not in redacted
    assert redacted.startswith(before.rstrip() and before)
    assert redact(redacted) == redacted


@given(
    st.recursive(
        st.text(max_size=30) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_redacting_data_is_idempotent(value: object) -> None:
    once = redact_obj(value)
    assert redact_obj(once) == once
