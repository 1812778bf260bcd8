"""Properties of the transcript parser (hypothesis): never raises, keeps every word."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from kb.assist.transcript import parse_transcript

LINES = st.lists(
    st.sampled_from(["客户：", "客服：", "Agent [Tom]: ", "[10:02] 顾客：", "User:", ""]).flatmap(
        lambda label: st.text(max_size=40).map(lambda body: label + body)
    ),
    max_size=12,
).map("\n".join)


@given(LINES | st.text(max_size=300))
@example("客户：\n\n客服：")
@example("Customer service hours: 9-21")
def test_transcript_never_raises_and_keeps_every_word(text: str) -> None:
    turns = parse_transcript(text)
    assert all(t.text and t.text == t.text.strip() for t in turns)
    assert all(t.role in ("customer", "agent") for t in turns)
    said = "".join("".join(t.text.split()) for t in turns)
    assert len(said) <= len("".join(text.split()))
    if text.strip() and not turns:
        assert all(_only_label(line) for line in text.splitlines())


def _only_label(line: str) -> bool:
    return not parse_transcript(line)
