"""The retrieval query for a conversation: the latest customer question, with context if needed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.types import Role


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, oldest first."""

    role: Role
    text: str

    def __post_init__(self) -> None:
        if self.role not in ("customer", "agent"):
            raise ValueError(f"turn role must be 'customer' or 'agent', got {self.role!r}")


@dataclass(frozen=True)
class QueryPlan:
    """The text to search with, and how it was derived from the conversation."""

    query: str
    latest: str  # the latest substantive customer turn, cleaned
    context_used: tuple[str, ...]  # earlier customer turns folded in, oldest first
    is_follow_up: bool


def _longest_first(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(words, key=len, reverse=True))


# Whole segments made only of these say nothing about the problem ("亲，在吗？", "ok thanks").
# Lower-case; Simplified and Traditional forms are both listed.
_FILLERS: tuple[str, ...] = _longest_first((
    "你好", "您好", "你们好", "你們好", "大家好", "在吗", "在嗎", "在不在", "有人吗", "有人嗎",
    "有人在吗", "有人在嗎", "亲爱的", "親愛的", "亲亲", "親親", "亲", "親", "客服", "谢谢你",
    "謝謝你", "谢谢您", "謝謝您", "谢谢", "謝謝", "多谢", "多謝", "感谢", "感謝", "唔该", "唔該",
    "好的", "好滴", "好吧", "好", "行", "可以", "嗯嗯", "嗯", "恩", "哦哦", "哦", "噢", "喔",
    "啊", "呀", "呃", "额", "額", "哈喽", "哈囉", "哈罗", "早上好", "下午好", "晚上好", "早安",
    "午安", "早", "收到", "了解", "明白了", "明白", "知道了", "麻烦了", "麻煩了", "麻烦你了",
    "麻煩你了", "辛苦了", "请问", "請問", "打扰了", "打擾了", "打扰一下", "打擾一下", "不好意思",
    "没事", "沒事", "没问题", "沒問題", "hi there", "hello there", "hi", "hello", "hey", "hiya",
    "dear", "thank you", "thanks", "thx", "ty", "cheers", "okay", "ok", "yes", "yeah", "yep",
    "sure", "great", "cool", "alright", "all right", "got it", "noted", "no problem",
    "good morning", "good afternoon", "good evening", "is anyone there", "anyone there",
    "are you there", "please",
))  # fmt: skip
# Openers stripped from the front of a segment that goes on with the question ("你好请问运费多少").
# Only multi-character Chinese ones: a bare "亲" could start "亲子装".
_OPENERS: tuple[str, ...] = _longest_first((
    "你好", "您好", "你们好", "你們好", "在吗", "在嗎", "亲亲", "親親", "哈喽", "哈囉", "请问",
    "請問", "麻烦问一下", "麻煩問一下", "我想问一下", "我想問一下", "想问一下", "想問一下",
    "问一下", "問一下", "我想咨询一下", "我想諮詢一下", "咨询一下", "諮詢一下", "打扰一下",
    "打擾一下", "不好意思", "hi there", "hello there", "hi", "hello", "hey", "dear",
))  # fmt: skip
_CLOSERS = _longest_first(
    ("谢谢", "謝謝", "谢谢啦", "謝謝啦", "多谢", "多謝", "thanks", "thank you", "thx")
)

# Follow-up markers: a short turn starting with these leans on what was asked before.
_FOLLOW_UP_STARTS = (
    "那如果", "那要是", "那么", "那麼", "那", "如果", "要是", "假如", "还有", "還有", "另外",
    "此外", "顺便", "順便", "也", "还", "還", "再", "然后", "然後", "and", "also", "what about",
    "how about", "what if", "then", "so", "plus", "but", "or", "same",
)  # fmt: skip
_FOLLOW_UP_ANYWHERE = ("呢", "那如果", "what about", "how about", "what if", "as well", "same for")
_PRONOUNS_ZH = (
    "它", "牠", "这个", "這個", "那个", "那個", "这样", "這樣", "这种情况", "這種情況", "这些",
    "這些", "那些", "他们", "他們",
)  # fmt: skip
_PRONOUNS_EN = frozenset({"it", "this", "that", "they", "them", "these", "those", "one"})

# A follow-up is short: a pronoun or marker in a long message does not make it lean on the past.
_SHORT_UNITS = 24
# Elliptical turns ("运费？", "warranty?") are follow-ups even without a marker.
_ELLIPTICAL_UNITS = 6
# At most this many earlier turns are chained in ("退货运费谁出？" → "那换货呢？" → "那如果…呢？").
_MAX_CONTEXT_TURNS = 2
_MIN_CONTEXT_CHARS = 8

_SEGMENT_SPLIT = re.compile(r"([，,。.！!？?~～…；;、\n]+)")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;…])\s*|(?<=\.)\s+|\s*\n+\s*")
_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+")
_LATIN_WORD = re.compile(r"[a-z']+")
_QUESTION_WORDS_ZH = (
    "吗", "嗎", "呢", "怎么", "怎麼", "如何", "什么", "什麼", "为什么", "為什麼", "哪", "多少",
    "几", "幾", "能否", "是否", "谁", "誰", "咋",
)  # fmt: skip
_QUESTION_STARTS_EN = frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do"}
    | {"does", "did", "will", "would", "should", "may", "am", "have", "has"}
)


def build_query(turns: Sequence[Turn], *, max_chars: int = 300) -> QueryPlan:
    """Derive the search query from a conversation (oldest turn first); agent turns are ignored."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    # Agent turns are left out: they often quote knowledge-base text, which would pull the search
    # towards what was already answered instead of what the customer asks now.
    customer = [_collapse(t.text) for t in turns if t.role == "customer" and t.text.strip()]
    if not customer:
        raise ValueError("conversation has no customer turn")
    # A greeting-only turn ("谢谢", "在吗？") contributes nothing; the question is then the last
    # customer turn that has content.
    cleaned = [c for c in (_clean(text) for text in customer) if c]
    if not cleaned:
        # Only pleasantries so far: still search with what the customer said, never with nothing.
        text = _fit(customer[-1], max_chars)
        return QueryPlan(query=text, latest=text, context_used=(), is_follow_up=False)

    latest = _fit(cleaned[-1], max_chars)
    follow_up = len(cleaned) > 1 and _is_follow_up(cleaned[-1])
    context: list[str] = []
    if follow_up:
        budget = max_chars - len(latest) - 1
        # Walk back through follow-ups to the turn that named the topic, newest first.
        for index in range(len(cleaned) - 2, max(-1, len(cleaned) - 2 - _MAX_CONTEXT_TURNS), -1):
            if budget < _MIN_CONTEXT_CHARS:
                break
            earlier = _fit(cleaned[index], budget)
            context.insert(0, earlier)
            budget -= len(earlier) + 1
            if not (index > 0 and _is_follow_up(cleaned[index])):
                break
    # Latest first: it is what the customer asks now, truncation never cuts it, and the earlier
    # turn only supplies the topic the follow-up leaves out ("那运费谁出？ 我想退货，怎么操作？").
    query = " ".join([latest, *context])
    return QueryPlan(
        query=query, latest=latest, context_used=tuple(context), is_follow_up=follow_up
    )


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _strip_words(text: str, words: Sequence[str], *, at_end: bool = False) -> tuple[str, bool]:
    """Remove one of ``words`` (longest first) from the start or end of ``text``.

    Latin words only on a word boundary: "hi" is no greeting in "his order".
    """
    lowered = text.lower()
    for word in words:
        if at_end and lowered.endswith(word):
            neighbour = lowered[len(lowered) - len(word) - 1 : len(lowered) - len(word)]
            if not (word.isascii() and neighbour.isascii() and neighbour.isalpha()):
                return text[: len(text) - len(word)].rstrip(" ,，"), True
        elif not at_end and lowered.startswith(word):
            neighbour = lowered[len(word) : len(word) + 1]
            if not (word.isascii() and neighbour.isascii() and neighbour.isalpha()):
                return text[len(word) :].lstrip(" ,，"), True
    return text, False


def _is_filler(segment: str) -> bool:
    rest = segment.strip()
    while rest:
        rest, stripped = _strip_words(rest, _FILLERS)
        if not stripped:
            break
    # What is left after the pleasantries may be an emoji or a "~": no words, no content.
    return not re.search(r"\w", rest)


def _clean(text: str) -> str:
    """Drop greeting and thanks segments; strip openers ("你好请问") and closers ("…谢谢")."""
    parts = _SEGMENT_SPLIT.split(text)
    kept: list[str] = []
    for i in range(0, len(parts), 2):
        raw, sep = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        segment = raw.strip()
        if _is_filler(segment):
            continue
        stripped = True
        while stripped:
            segment, stripped = _strip_words(segment, _OPENERS)
        segment, _ = _strip_words(segment, _CLOSERS, at_end=True)
        if segment:
            # Keep the space a Latin sentence had after its comma; Chinese has none to keep.
            kept.append((" " if raw[:1].isspace() else "") + segment + sep)
    return _collapse("".join(kept)).lstrip("，,。.！!？?~～…；;、 ")


def _units(text: str) -> int:
    return len(_UNITS.findall(text))


def _is_follow_up(text: str) -> bool:
    """Short and leaning on earlier turns: a marker ("那", "what about"), pronoun or ellipsis."""
    units = _units(text)
    if units > _SHORT_UNITS:
        return False
    if units <= _ELLIPTICAL_UNITS:
        return True
    lowered = text.lower()
    words = _LATIN_WORD.findall(lowered)
    starts = any(
        lowered.startswith(m) if not m.isascii() else " ".join(words[: len(m.split())]) == m
        for m in _FOLLOW_UP_STARTS
    )
    anywhere = any(m in lowered for m in _FOLLOW_UP_ANYWHERE if not m.isascii()) or any(
        f" {m} " in f" {' '.join(words)} " for m in _FOLLOW_UP_ANYWHERE if m.isascii()
    )
    pronoun = any(p in lowered for p in _PRONOUNS_ZH) or any(w in _PRONOUNS_EN for w in words)
    return starts or anywhere or pronoun


def _is_question(sentence: str) -> bool:
    if sentence.rstrip().endswith(("?", "？")):
        return True
    words = _LATIN_WORD.findall(sentence.lower())
    return any(w in sentence for w in _QUESTION_WORDS_ZH) or (
        bool(words) and words[0] in _QUESTION_STARTS_EN
    )


def _fit(text: str, budget: int) -> str:
    """Shorten to ``budget`` characters, keeping the last question and the sentences around it."""
    if len(text) <= budget:
        return text
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]
    questions = [i for i, s in enumerate(sentences) if _is_question(s)]
    anchor = questions[-1] if questions else len(sentences) - 1
    if len(sentences[anchor]) > budget:
        return _tail(sentences[anchor], budget)
    # Then the other questions (newest first), then the sentences nearest the last question,
    # which usually carry its topic ("我上周买的净化器滤网坏了。……怎么办？").
    order = [
        *reversed([i for i in questions if i != anchor]),
        *sorted(
            (i for i in range(len(sentences)) if i not in questions and i != anchor),
            key=lambda i: (abs(i - anchor), -i),
        ),
    ]
    chosen = {anchor}
    used = len(sentences[anchor])
    for i in order:
        if used + 1 + len(sentences[i]) <= budget:
            chosen.add(i)
            used += 1 + len(sentences[i])
    return _join([sentences[i] for i in sorted(chosen)])


def _join(sentences: list[str]) -> str:
    # Chinese sentences run on without spaces; Latin ones need one.
    out = sentences[0]
    for sentence in sentences[1:]:
        out += ("" if out[-1:] in "。！？；…" else " ") + sentence
    return out


def _tail(sentence: str, budget: int) -> str:
    """The end of an over-long sentence (where its question is), not cutting a Latin word."""
    tail = sentence[-budget:]
    if tail[:1].isascii() and tail[:1].isalnum() and sentence[-budget - 1 : -budget].isalnum():
        tail = tail.split(" ", 1)[1] if " " in tail else tail
    return tail.strip()
