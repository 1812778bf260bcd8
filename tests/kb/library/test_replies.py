"""Scripted replies: YAML/CSV formats with line-accurate errors, and filling variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.library.replies import (
    FilledReply,
    InvalidReply,
    Placeholder,
    ReplyTemplate,
    derived_id,
    detect_language,
    fill,
    make_reply,
    parse_template,
    variable_key,
)
from kb.library.reply_format import dump_replies_yaml, parse_replies_csv, parse_replies_yaml
from kb.library.rulefile import RuleFileError

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "kb" / "sample" / "replies"
DOC = (ROOT / "docs" / "rules-and-replies.md").read_text(encoding="utf-8")
SAMPLE_YAML = (SAMPLE / "replies.yaml").read_text(encoding="utf-8")
SAMPLE_CSV = (SAMPLE / "replies-example.csv").read_text(encoding="utf-8")
SAMPLE_REPLIES = parse_replies_yaml(SAMPLE_YAML, "replies.yaml")


# ---- the sample files -----------------------------------------------------------------------


def test_sample_yaml_covers_every_language_with_unique_ids() -> None:
    ids = [r.id for r in SAMPLE_REPLIES]
    assert len(ids) >= 15
    assert len(set(ids)) == len(ids)
    assert {r.language for r in SAMPLE_REPLIES} == {"zh-Hans", "zh-Hant", "en"}


@pytest.mark.parametrize(
    ("reply_id", "variables", "language"),
    [
        ("greeting", ("name",), "zh-Hans"),
        ("refund-accepted", ("name", "order_id", "amount"), "zh-Hans"),
        ("shipping-status", ("name", "order_id", "tracking_no"), "zh-Hans"),
        ("escalation-handover", ("name",), "zh-Hans"),
        ("wifi-troubleshooting", ("name", "order_id"), "zh-Hant"),
        ("shipping-status-en", ("name", "order_id", "tracking_no"), "en"),
    ],
)
def test_sample_yaml_replies(reply_id: str, variables: tuple[str, ...], language: str) -> None:
    reply = next(r for r in SAMPLE_REPLIES if r.id == reply_id)
    assert reply.variables == variables
    assert reply.language == language
    assert reply.applies_to  # every sample reply says when it fits


@pytest.mark.parametrize("reply", SAMPLE_REPLIES, ids=lambda r: r.id)
def test_no_sample_reply_ever_leaves_braces(reply: ReplyTemplate) -> None:
    empty = fill(reply, {})
    assert "{" not in empty.text and "}" not in empty.text
    assert empty.missing_variables == reply.variables
    full = fill(reply, {"name": "王女士", "order_id": "A123", "tracking_no": "SF1", "amount": "99"})
    assert full.missing_variables == ()
    assert "【" not in full.text and "[" not in full.text


def test_sample_csv() -> None:
    replies = parse_replies_csv(SAMPLE_CSV, "replies-example.csv")
    assert [(r.title, r.language) for r in replies] == [
        ("发货通知", "zh-Hans"),
        ("运费说明", "zh-Hans"),
        ("退款金額確認", "zh-Hant"),
        ("Return shipping", "en"),
    ]
    assert replies[0].tags == ("物流", "发货")
    assert replies[0].variables == ("name", "order_id", "tracking_no")
    assert replies[3].id == "return-shipping"
    assert replies[3].tags == ("returns", "shipping")


# ---- YAML -----------------------------------------------------------------------------------

HEAD = "version: 1\nreplies:\n"
A = HEAD + "  - id: a\n    title: t\n"  # a reply up to its body, which starts on line 5


def test_yaml_reads_every_field() -> None:
    text = HEAD + (
        "  - id: refund-ok\n"
        "    title: 退款已受理\n"
        "    body: |\n"
        "      {name}您好，\n"
        "      订单 {order_id} 已退款，{{不是变量}}。\n"
        "    tags: 退款、售后\n"
        "    language: zh-CN\n"
        "    variables: {order_id: 订单编号, name: 客户称呼}\n"
        "    applies_to: [我要退款]\n"
    )
    [reply] = parse_replies_yaml(text, "replies.yaml")
    assert reply == ReplyTemplate(
        id="refund-ok",
        title="退款已受理",
        body="{name}您好，\n订单 {order_id} 已退款，{{不是变量}}。",
        variables=("name", "order_id"),
        tags=("退款", "售后"),
        language="zh-Hans",
        applies_to=("我要退款",),
        labels={"order_id": "订单编号", "name": "客户称呼"},
    )
    assert fill(reply, {}).text == "【客户称呼】您好，\n订单 【订单编号】 已退款，{不是变量}。"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("replies: []\n", 1, "has no version"),
        ("version: 2\nreplies: []\n", 1, "unsupported version"),
        ("version: 1\nreplies: {}\n", 2, "'replies' must be a list"),
        (A + "   body: x\n", 5, "invalid YAML"),
        (HEAD + "  - title: t\n    body: b\n", 3, "reply 1 has no id"),
        (HEAD + "  - id: Refund OK\n    title: t\n    body: b\n", 3, "reply id 'Refund OK'"),
        (A + "    body: b\n  - id: refund-ok\n    title: t\n", 6, "reply 'refund-ok' has no body"),
        (A + "    body: '   '\n", 5, "reply 'a' has no body"),
        (HEAD + "  - id: a\n    tittle: t\n", 4, "unknown key 'tittle' (did you mean 'title'?)"),
        (
            A + "    body: |\n      line\n      订单 {order id}\n",
            7,
            "placeholder '{order id}' is not a variable name: "
            "use letters, digits and '_' (did you mean {order_id}?)",
        ),
        (A + "    body: 订单 {订单号}\n", 5, "(did you mean {order_id}?)"),
        (A + "    body: 您好 {name\n", 5, "unbalanced '{'"),
        (A + "    body: 您好 name}\n", 5, "unbalanced '}'"),
        (A + "    body: 您好 {}\n", 5, "empty placeholder"),
        (
            A + "    body: b\n" + A[len(HEAD) :] + "    body: b\n",
            6,
            "'a' is used twice (first at line 3)",
        ),
        (A + "    body: b\n    language: fr\n", 6, "unknown language 'fr'"),
        (A + "    body: b\n    variables: [order_id]\n", 6, "the body has no {order_id}"),
        (A + "    body: b\n    tags: {x: 1}\n", 6, "'tags' must be a list"),
        (A + "    title: u\n    body: b\n", 5, "duplicate key 'title' (first at line 4)"),
        (HEAD + "  - just text\n", 3, "reply 1 must be a mapping, not text"),
    ],
)
def test_yaml_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_replies_yaml(text, "replies.yaml")
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"replies.yaml line {line}: ")
    assert caught.value.status_code == 422


def test_dump_then_parse_gives_the_same_replies() -> None:
    labelled = make_reply(id="l", title="t", body="{name}: {coupon}", variables={"coupon": "券码"})
    replies = [*SAMPLE_REPLIES, labelled]
    dumped = dump_replies_yaml(replies)
    assert parse_replies_yaml(dumped, "export.yaml") == replies
    assert "body: |" in dumped  # multi-line bodies stay readable


# ---- CSV ------------------------------------------------------------------------------------


def test_csv_with_english_headers_quoted_newlines_and_ignored_notes() -> None:
    text = (
        "\ufeffid,Title,Body,Tags,Language,Notes\n"
        'late,Late parcel,"Hello {name},\nsorry for the delay.",shipping;delay,en,internal\n'
        "\n"
        "late-zh,延迟,您好 {name}，抱歉。,物流,,\n"
    )
    replies = parse_replies_csv(text, "replies.csv")
    assert [(r.id, r.body, r.tags, r.language) for r in replies] == [
        ("late", "Hello {name},\nsorry for the delay.", ("shipping", "delay"), "en"),
        ("late-zh", "您好 {name}，抱歉。", ("物流",), "zh-Hans"),
    ]


def test_csv_tab_separated_with_cues() -> None:
    text = "标题\t正文\t適用場景\n问候\t您好\t你好|在吗\n"
    [reply] = parse_replies_csv(text, "replies.tsv")
    assert reply.applies_to == ("你好", "在吗")
    assert reply.id == derived_id("问候")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("title,tags\nx,y\n", 1, "no 'body' column"),
        ("title,body,remark\n", 1, "unknown column 'remark'"),
        ("标题,内容,标题\n", 1, "two columns mean 'title'"),
        ('title,body\na,"one\ntwo"\nb,\n', 4, "reply 'b' has no body"),
        ("title,body\n,only body\n", 2, "row has no title"),
        ("title,body\na,订单 {order id}\n", 2, "not a variable name"),
        ("title,body,language\na,b,klingon\n", 2, "unknown language 'klingon'"),
        ("id,title,body\nx,a,b\nx,c,d\n", 3, "reply id 'x' is used twice (first at line 2)"),
        ("title,body\nsame,b\nsame,c\n", 3, "is used twice"),
        ('title,body\na,"b"x"\n', 2, "invalid CSV"),
    ],
)
def test_csv_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_replies_csv(text, "replies.csv")
    assert caught.value.line == line
    assert message in str(caught.value)


# ---- templates and filling ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("您好", ("您好",)),
        ("{name}您好", (Placeholder("name"), "您好")),
        ("a { order_id } b", ("a ", Placeholder("order_id"), " b")),
        ("{{literal}} {x}", ("{literal} ", Placeholder("x"))),
        ("}}{{", ("}{",)),
    ],
)
def test_parse_template(body: str, parts: tuple[object, ...]) -> None:
    assert parse_template(body) == parts


@pytest.mark.parametrize(
    ("body", "offset"),
    [("ab {order id}", 3), ("ab {x", 3), ("a}b", 1), ("{a{b}}", 0), ("{1x}", 0)],
)
def test_parse_template_errors_point_at_the_brace(body: str, offset: int) -> None:
    with pytest.raises(InvalidReply) as caught:
        parse_template(body)
    assert caught.value.offset == offset


ORDER = make_reply(
    id="r", title="t", body="{name}您好，订单 {order_id}，{name}，退款 {amount} 元。"
)
ORDER_EN = make_reply(id="e", title="t", body="Hi {name}, order {order_id} ({coupon_code}).")
ORDER_HANT = make_reply(id="h", title="t", body="{name}您好，訂單 {order_id} 已發貨。")


@pytest.mark.parametrize(
    ("template", "values", "text", "missing"),
    [
        (ORDER, {"name": "王女士", "order_id": "A123", "amount": 99},
         "王女士您好，订单 A123，王女士，退款 99 元。", ()),
        (ORDER, {"name": "王女士"},
         "王女士您好，订单 【订单号】，王女士，退款 【金额】 元。", ("order_id", "amount")),
        (ORDER, {}, "【称呼】您好，订单 【订单号】，【称呼】，退款 【金额】 元。",
         ("name", "order_id", "amount")),
        (ORDER, {"customer_name": "李先生", "orderId": "B9", "amount": "  "},
         "李先生您好，订单 B9，李先生，退款 【金额】 元。", ("amount",)),
        (ORDER, {"customer_name": "别名", "name": "本名", "order_no": "C1", "amount": None},
         "本名您好，订单 C1，本名，退款 【金额】 元。", ("amount",)),
        (ORDER, {"name": "{order_id}", "order_id": "A1", "amount": "1"},
         "{order_id}您好，订单 A1，{order_id}，退款 1 元。", ()),
        (ORDER_EN, {"name": "Ann"}, "Hi Ann, order [order number] ([coupon_code]).",
         ("order_id", "coupon_code")),
        (ORDER_HANT, {"tier": "vip"}, "【稱呼】您好，訂單 【訂單號】 已發貨。",
         ("name", "order_id")),
    ],
)  # fmt: skip
def test_fill(
    template: ReplyTemplate, values: dict[str, object], text: str, missing: tuple[str, ...]
) -> None:
    assert fill(template, values) == FilledReply(template.id, template.title, text, missing)


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("name", "name"),
        ("customerName", "name"),
        ("customer_name", "name"),
        ("orderId", "order_id"),
        ("Order-No", "order_id"),
        ("tracking_number", "tracking_no"),
        ("customer_tier", "tier"),
        ("coupon_code", "coupon_code"),
    ],
)
def test_variable_key(field: str, key: str) -> None:
    assert variable_key(field) == key


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello, your order has shipped.", "en"),
        ("您好，您的订单已发货。", "zh-Hans"),
        ("您好，您的訂單已發貨。", "zh-Hant"),
        ("Order 云舟 X1 shipped", "zh-Hans"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("title", "reply_id"),
    [("Return shipping", "return-shipping"), ("Wi-Fi help!", "wi-fi-help")],
)
def test_derived_id_slugs_latin_titles(title: str, reply_id: str) -> None:
    assert derived_id(title) == reply_id


def test_derived_id_is_stable_for_chinese_titles() -> None:
    assert derived_id("问候") == derived_id("问候")
    assert derived_id("问候") != derived_id("结束语")
    assert derived_id("问候").startswith("reply-")


def test_the_documented_example_parses() -> None:
    [example] = [b for b in DOC.split("```yaml\n")[1:] if b.startswith("version: 1")
                 and "replies:" in b.split("\n")[1]]  # fmt: skip
    [reply] = parse_replies_yaml(example.split("```")[0], "docs.yaml")
    assert fill(reply, {"name": "王女士"}).missing_variables == ("order_id", "amount")
    assert "【退款金额】" in fill(reply, {}).text
