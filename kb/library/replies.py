"""Scripted replies: templates with `{variables}`, validated and filled in (files: reply_format)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.errors import Invalid
from kb.library.rulefile import ID
from kb.types import LANGUAGES, Language
from search.normalize import converter

_LANGUAGE_NAMES: dict[str, Language] = {
    "zh-hans": "zh-Hans", "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans",
    "简体": "zh-Hans", "简体中文": "zh-Hans", "中文": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant",
    "繁体": "zh-Hant", "繁體": "zh-Hant", "繁体中文": "zh-Hant", "繁體中文": "zh-Hant",
    "en": "en", "en-us": "en", "en-gb": "en", "english": "en", "英文": "en", "英语": "en",
}  # fmt: skip

# Labels shown in place of an unfilled variable: (zh-Hans, zh-Hant, en).
_LABELS: dict[str, tuple[str, str, str]] = {
    "name": ("称呼", "稱呼", "name"),
    "order_id": ("订单号", "訂單號", "order number"),
    "tracking_no": ("运单号", "運單號", "tracking number"),
    "amount": ("金额", "金額", "amount"),
    "date": ("日期", "日期", "date"),
    "product": ("产品", "產品", "product"),
    "tier": ("会员等级", "會員等級", "membership tier"),
    "phone": ("联系电话", "聯絡電話", "phone number"),
    "email": ("邮箱", "電子郵件", "email address"),
    "address": ("地址", "地址", "address"),
    "agent_name": ("客服姓名", "客服姓名", "agent name"),
}

# Request/customer field names that mean one of our variables.
ALIASES: dict[str, str] = {
    "customer_name": "name", "full_name": "name", "nickname": "name",
    "order": "order_id", "order_no": "order_id", "order_number": "order_id",
    "tracking": "tracking_no", "tracking_number": "tracking_no", "tracking_id": "tracking_no",
    "waybill": "tracking_no", "waybill_no": "tracking_no",
    "customer_tier": "tier", "vip_level": "tier", "level": "tier",
    "product_name": "product", "refund_amount": "amount",
}  # fmt: skip

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Placeholder:
    name: str


class InvalidReply(Invalid):
    """A reply that cannot be built; ``field`` and ``offset`` (into the body) locate the problem."""

    field: str

    def __init__(self, message: str, field: str, offset: int | None = None, **params: Any) -> None:
        super().__init__(message, field=field, **params)
        self.offset = offset


def parse_template(body: str) -> tuple[str | Placeholder, ...]:
    """Split a body into text and `{variable}` placeholders; `{{`/`}}` are literal braces."""
    parts: list[str | Placeholder] = []
    text: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("{{", i) or body.startswith("}}", i):
            text.append(char)
            i += 2
        elif char == "}":
            raise InvalidReply("unbalanced '}' (write '}}' for a literal brace)", "body", i)
        elif char == "{":
            end = body.find("}", i + 1)
            reopen = body.find("{", i + 1)
            if end == -1 or -1 < reopen < end:
                raise InvalidReply("unbalanced '{' (write '{{' for a literal brace)", "body", i)
            inner = body[i + 1 : end]
            name = inner.strip()
            if not _VARIABLE.fullmatch(name):
                raise InvalidReply(_bad_placeholder(inner), "body", i)
            if text:
                parts.append("".join(text))
                text = []
            parts.append(Placeholder(name))
            i = end + 1
        else:
            text.append(char)
            i += 1
    if text:
        parts.append("".join(text))
    return tuple(parts)


def _bad_placeholder(inner: str) -> str:
    if not inner.strip():
        return "empty placeholder '{}'"
    known = [n for n, labels in _LABELS.items() if inner.strip() in labels]
    guess = known[0] if known else re.sub(r"[\s\-]+", "_", inner.strip()).lower()
    hint = f" (did you mean {{{guess}}}?)" if _VARIABLE.fullmatch(guess) else ""
    return f"placeholder '{{{inner}}}' is not a variable name: use letters, digits and '_'{hint}"


@dataclass(frozen=True)
class ReplyTemplate:
    """A scripted reply; build with ``make_reply`` so variables always agree with the body."""

    id: str
    title: str
    body: str
    variables: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: Language = "zh-Hans"
    applies_to: tuple[str, ...] = ()  # keywords / example utterances for matching
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)  # per-reply labels


@dataclass(frozen=True)
class FilledReply:
    id: str
    title: str
    text: str
    missing_variables: tuple[str, ...] = ()


def make_reply(
    *,
    id: str,
    title: str,
    body: str,
    tags: Iterable[str] = (),
    language: str | None = None,
    variables: Iterable[str] | Mapping[str, str] | None = None,
    applies_to: Iterable[str] = (),
) -> ReplyTemplate:
    """Validate and build a reply; raises InvalidReply naming the field at fault."""
    if not ID.fullmatch(id):
        raise InvalidReply(
            "reply id '{id}' must be lower-case letters, digits, '-', '_' or '.'", "id", id=id
        )
    if not title.strip():
        raise InvalidReply("reply '{id}' has no title", "title", id=id)
    if not body.strip():
        raise InvalidReply("reply '{id}' has no body", "body", id=id)
    lang = language_code(language) if language else detect_language(body)
    if lang is None:
        allowed = ", ".join(LANGUAGES)
        raise InvalidReply(
            "reply '{id}': unknown language '{language}' ({allowed})",
            "language",
            id=id,
            language=language,
            allowed=allowed,
        )
    used = tuple(dict.fromkeys(p.name for p in parse_template(body) if isinstance(p, Placeholder)))
    labels = dict(variables) if isinstance(variables, Mapping) else {}
    for name in variables or ():
        if not _VARIABLE.fullmatch(name):
            raise InvalidReply(
                "reply '{id}': '{name}' is not a variable name", "variables", id=id, name=name
            )
        if name not in used:
            raise InvalidReply(
                "reply '{id}': variable '{name}' is declared but the body has no {{{name}}}",
                "variables",
                id=id,
                name=name,
            )
    return ReplyTemplate(
        id=id,
        title=title.strip(),
        body=body.strip(),
        variables=used,
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        language=lang,
        applies_to=tuple(a.strip() for a in applies_to if a.strip()),
        labels={k: str(v).strip() for k, v in labels.items() if str(v).strip()},
    )


def language_code(name: str) -> Language | None:
    """Our language code for a name a knowledge manager may write (zh-CN, 繁體, English…)."""
    key = name.strip().replace("_", "-").casefold()
    return _LANGUAGE_NAMES.get(key)


def detect_language(text: str) -> Language:
    """A guess when a file does not say: no Han characters → en; Traditional forms → zh-Hant."""
    if not _CJK.search(text):
        return "en"
    # Script, not vocabulary: character-level t2s, so Simplified text using a Taiwan word
    # (滑鼠 is written alike in both scripts) is not taken for Traditional.
    return "zh-Hant" if converter("t2s").convert(text) != text else "zh-Hans"


def variable_key(name: str) -> str:
    """A request field name as a variable: `orderId`, `Order-No` → order_id; aliases applied."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    snake = re.sub(r"[\s\-]+", "_", snake).lower()
    return ALIASES.get(snake, snake)


def fill(template: ReplyTemplate, values: Mapping[str, object]) -> FilledReply:
    """Fill variables from request fields; unfilled ones show as 【订单号】 and are listed."""
    known: dict[str, str] = {}
    exact: dict[str, str] = {}
    for key, raw in values.items():
        value = "" if raw is None else str(raw).strip()
        if value:
            known.setdefault(variable_key(key), value)
            exact[key] = value
    known.update((k, v) for k, v in exact.items() if _VARIABLE.fullmatch(k))  # exact names win
    out: list[str] = []
    missing: list[str] = []
    for part in parse_template(template.body):
        if isinstance(part, str):
            out.append(part)
        elif part.name in known:
            out.append(known[part.name])
        else:
            out.append(placeholder_text(template, part.name))
            if part.name not in missing:
                missing.append(part.name)
    return FilledReply(template.id, template.title, "".join(out), tuple(missing))


def variable_label(name: str, language: Language) -> str:
    """A variable's name as a reader of ``language`` knows it (称呼, 稱呼, name); unknown
    variables (a manager's own) show as written."""
    labels = _LABELS.get(name)
    return labels[LANGUAGES.index(language)] if labels else name


def placeholder_text(template: ReplyTemplate, name: str) -> str:
    """What an agent sees for an unfilled variable: 【订单号】, 【訂單號】 or [order number]."""
    column = LANGUAGES.index(template.language)
    label = template.labels.get(name) or _LABELS.get(name, (name, name, name))[column]
    return f"[{label}]" if template.language == "en" else f"【{label}】"


def derived_id(title: str) -> str:
    """A stable id for a reply without one: a slug of a Latin title, else a hash of the title."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    if slug and title.isascii():
        return slug[:60]
    return "reply-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:8]
