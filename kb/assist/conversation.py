"""The retrieval query for a conversation: the latest customer question, with context if needed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.assist.selection import select, words
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

    query: str  # the question and the problem, bounded (QUERY_WORDS)
    latest: str  # what of the latest substantive customer turn was kept, cleaned
    question: str  # the question alone (with a follow-up's context): what is asked now
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
_MIN_CONTEXT_WORDS = 4

_SEGMENT_SPLIT = re.compile(r"([，,。.！!？?~～…；;、\n]+)")
_LATIN_WORD = re.compile(r"[a-z']+")
_WORDLIKE = re.compile(r"[^\W_]")


# The longest query, in words (a Chinese character or a Latin word each; see
# kb/assist/selection.py). Measured on the conversation dev set (bench/data/conversations):
# see README, "Suggestions mid-conversation".
QUERY_WORDS = 120


def build_query(turns: Sequence[Turn], *, budget: int = QUERY_WORDS) -> QueryPlan:
    """Derive the search query from a conversation (oldest turn first); agent turns are ignored.

    The query holds what the customer asks and the problem they describe, at most ``budget``
    words however long the messages: a follow-up gets the earlier turn's topic in what is left.
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1 word, got {budget}")
    # Agent turns are left out: they often quote knowledge-base text, which would pull the search
    # towards what was already answered instead of what the customer asks now.
    customer = [_collapse(t.text) for t in turns if t.role == "customer" and t.text.strip()]
    if not customer:
        raise ValueError("conversation has no customer turn")
    # A greeting-only turn ("谢谢", "在吗？") contributes nothing; the question is then the last
    # customer turn that has content.
    cleaned = [c for c in (_clean(text) for text in customer) if _WORDLIKE.search(c)]
    if not cleaned:
        # Only pleasantries so far: still search with what the customer said, never with nothing.
        # The last of them with a word in it: a lone "！" after "谢谢" is nothing to search with.
        said = [text for text in customer if _WORDLIKE.search(text)] or customer
        text = select(said[-1], budget).text or said[-1][:budget]
        return QueryPlan(text, latest=text, question=text, context_used=(), is_follow_up=False)

    chosen = select(cleaned[-1], budget)
    latest = chosen.text
    follow_up = len(cleaned) > 1 and _is_follow_up(cleaned[-1])
    context: list[str] = []
    if follow_up:
        left = budget - words(latest)
        # Walk back through follow-ups to the turn that named the topic, newest first.
        for index in range(len(cleaned) - 2, max(-1, len(cleaned) - 2 - _MAX_CONTEXT_TURNS), -1):
            if left < _MIN_CONTEXT_WORDS:
                break
            earlier = select(cleaned[index], left).text
            context.insert(0, earlier)
            left -= words(earlier)
            if not (index > 0 and _is_follow_up(cleaned[index])):
                break
    # Latest first: it is what the customer asks now, and the earlier turn only supplies the
    # topic the follow-up leaves out ("那运费谁出？ 我想退货，怎么操作？").
    query = " ".join([latest, *context])
    question = chosen.question or latest
    if context:
        question = " ".join([question, *context])
    return QueryPlan(
        query=query,
        latest=latest,
        question=question,
        context_used=tuple(context),
        is_follow_up=follow_up,
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


def _is_follow_up(text: str) -> bool:
    """Short and leaning on earlier turns: a marker ("那", "what about"), pronoun or ellipsis."""
    units = words(text)
    if units > _SHORT_UNITS:
        return False
    if units <= _ELLIPTICAL_UNITS:
        return True
    lowered = text.lower()
    latin = _LATIN_WORD.findall(lowered)
    starts = any(
        lowered.startswith(m) if not m.isascii() else " ".join(latin[: len(m.split())]) == m
        for m in _FOLLOW_UP_STARTS
    )
    anywhere = any(m in lowered for m in _FOLLOW_UP_ANYWHERE if not m.isascii()) or any(
        f" {m} " in f" {' '.join(latin)} " for m in _FOLLOW_UP_ANYWHERE if m.isascii()
    )
    pronoun = any(p in lowered for p in _PRONOUNS_ZH) or any(w in _PRONOUNS_EN for w in latin)
    return starts or anywhere or pronoun
