"""Properties of cleaning over arbitrary text (hypothesis): it never raises, keeps sentences."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ingest.cleaning import clean_blocks, normalize_whitespace
from ingest.model import Block

# Real sentences of a manual: whatever else a page holds, cleaning keeps each of these.
SENTENCES = (
    "客户申请退款后，系统会自动校验订单状态。",
    "已发货的订单需要先完成退货，仓库收到退货并检验合格后再退款。",
    "退款金额按原支付方式退回，银行卡一般需要三到五个工作日到账。",
    "如果客户使用了优惠券，优惠券按比例退回账户，过期的优惠券不予补发。",
    "Refunds go back to the card the customer paid with within five working days.",
    "客服应提醒客户保留物流单号，以便财务核对。",
    "整机保修一年，电机和电池保修两年，人为损坏不在保修范围内。",
    "If the parcel is lost in transit, we send a replacement at no cost to the customer.",
)
KINDS = st.sampled_from(["paragraph", "list_item", "table_row", "heading"])
NOISE = st.text(max_size=200) | st.text(
    st.sampled_from(list("&nbsp;amp#12288x7KqㄅtuánAB1(（)）| 首页 > 热门 ，。\n")), max_size=120
)


@given(st.lists(st.tuples(NOISE, KINDS), max_size=15))
@example([("\x00\ufffd\ue000", "paragraph"), ("&amp;amp;nbsp;", "paragraph")])
@example([("團(tuán)隊(duì)", "paragraph"), ("zài xiàn kè fú", "paragraph")])
def test_cleaning_never_raises_and_leaves_clean_text(blocks: list[tuple[str, str]]) -> None:
    cleaned = clean_blocks([Block(text, kind=kind) for text, kind in blocks])  # type: ignore[arg-type]
    for block in cleaned:
        assert block.text == normalize_whitespace(block.text)
        assert "\x00" not in block.text and "\ufffd" not in block.text


@given(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=8, unique=True))
@example(list(SENTENCES))
def test_cleaning_keeps_every_real_sentence(sentences: list[str]) -> None:
    cleaned = " ".join(b.text for b in clean_blocks([Block(s) for s in sentences]))
    for sentence in sentences:
        assert sentence in cleaned


@given(NOISE)
def test_whitespace_normalisation_is_idempotent(text: str) -> None:
    once = normalize_whitespace(text)
    assert normalize_whitespace(once) == once
