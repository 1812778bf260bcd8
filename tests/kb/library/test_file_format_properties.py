"""Rule and reply files (hypothesis, plus hostile YAML): only the documented error, ever."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from kb.library.reply_format import parse_replies_csv, parse_replies_yaml
from kb.library.rule_format import ACTION_KEYS, CONDITION_KEYS, RULE_KEYS, parse_rules_yaml
from kb.library.rulefile import RuleFileError

SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from([*RULE_KEYS, *CONDITION_KEYS, *ACTION_KEYS, "title", "body", "tags"])
ITEM = st.dictionaries(KEYS, VALUES | st.dictionaries(KEYS, VALUES, max_size=4), max_size=6)
DOCUMENT = st.fixed_dictionaries(
    {
        "version": st.sampled_from([1, 1, 2, "1"]),
        "rules": st.lists(ITEM, max_size=3),
        "replies": st.lists(ITEM, max_size=3),
    }
).map(lambda d: yaml.safe_dump(d, allow_unicode=True))

# Ten aliases of ten, nine deep: a billion values once expanded; and nesting past the stack.
LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = "version: 1\nrules: " + "[" * 1500 + "]" * 1500


@given(DOCUMENT | st.text(max_size=300))
@example(
    "version: 1\nrules:\n  - id: r\n    when: {keywords: [a]}\n"
    "    then: {level: tier2, steps: [x]}\n"
)
@example("version: 1\nrules: [{id: R!, when: 3}]")
@example(": : :\n\t- [")
@example("\x1f")  # a control character first: the reader raised before the handlers (a 500)
def test_rule_files_raise_only_rule_file_errors(text: str) -> None:
    try:
        parse_rules_yaml(text, "rules.yaml")
    except RuleFileError as exc:
        assert str(exc).startswith("rules.yaml")


@given(DOCUMENT | st.text(max_size=300))
@example("version: 1\nreplies:\n  - id: r\n    title: t\n    body: 您好 {name\n")
@example("\x1f")
def test_reply_files_raise_only_rule_file_errors(text: str) -> None:
    try:
        parse_replies_yaml(text, "replies.yaml")
    except RuleFileError as exc:
        assert str(exc).startswith("replies.yaml")


@given(
    st.text(max_size=300)
    | st.lists(st.lists(st.text(max_size=10), max_size=5), max_size=5).map(
        lambda rows: "\n".join(",".join(r) for r in rows)
    )
)
@example('title,body\n"unclosed,x\n')
@example("title,body,title\n")
def test_reply_sheets_raise_only_rule_file_errors(text: str) -> None:
    try:
        parse_replies_csv(text, "replies.csv")
    except RuleFileError as exc:
        assert str(exc).startswith("replies.csv")


@pytest.mark.parametrize(
    ("text", "problem"),
    [(LAUGHS, "over 100,000 values once its aliases are expanded"), (DEEP, "nested too deeply")],
    ids=["billion-laughs", "deep-nesting"],
)
def test_hostile_yaml_is_refused_with_a_reason(text: str, problem: str) -> None:
    for parse in (parse_rules_yaml, parse_replies_yaml):
        with pytest.raises(RuleFileError, match=problem):
            parse(text, "hostile.yaml")
