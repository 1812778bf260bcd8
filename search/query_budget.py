"""A long query's bounded parts: the text the embedder reads and the terms BM25 scores.

A 2,000-character message cost 58 times a short question: e5 read all of it (up to 512 tokens,
attention quadratic in them) and BM25 scored some 400 terms over every chunk. What a query costs
is bounded here instead, by design:

- the embedder reads the question (the last sentence that asks, else the last sentence with a
  topic; greetings and thanks never) and then the sentences that share the most words with it
  (Chinese character pairs, Latin words; function words left out), nearest first on a tie, up to
  :attr:`QueryBudget.embed_words` words (one per Chinese character or Latin word, so both
  scripts get the same room), kept in message order. A sentence sharing nothing with the
  question is left out even when there is room: on the long views, filling the budget with the
  densest other sentences pulled the query towards whatever else the message talked about;
- BM25 scores the embedded text's distinct terms, at most :attr:`QueryBudget.bm25_terms` of
  them, highest idf first. Only that part is tokenised, so the cost no longer grows with the
  message (jieba over 2,000 characters alone cost more than a short search).

A query of at most :attr:`QueryBudget.whole_words` words is searched exactly as written (same
text, same terms, same order): the suggest path's query is already its own bounded selection.
The budgets were chosen on long views of the dev sets (``bench/long_queries.py``). The same idea
as the suggest path's selection (``kb/assist/selection.py``), which search cannot import; this
one ranks by the index's own statistics rather than by word lists.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from search.sentences import CLAUSES, SENTENCES, join_units, last_words
from search.tokenize import TermGroup

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9']*")
_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u9fff\uf900-\ufaff]+")
_QUESTION_END = ("?", "？", "吗", "嗎", "呢", "么", "麼")
_QUESTION_ZH = ("怎么", "怎麼", "如何", "为什么", "為什麼", "什么", "什麼", "哪", "多少", "能否",
                "是否", "可否", "能不能", "可不可以", "有没有", "有沒有", "是不是")  # fmt: skip
# Greetings, thanks and "please reply soon": a unit of nothing else is never the question.
_META = re.compile(
    "你好|您好|在吗|在嗎|打扰|打擾|咨询|諮詢|客服|麻烦|麻煩|尽快|盡快|回复|回覆|谢谢|謝謝|多谢|"
    "多謝|感谢|感謝|辛苦|拜托|拜託|"
    r"\b(?:hi|hello|hey|dear|please|thanks?|thank you|cheers|sorry|asap|quick question)\b|"
    r"\bgood (?:morning|afternoon|evening)\b|\blet me know\b|\bhelp me\b|\bhope\b",
    re.I,
)
# Less content than this (a Chinese character outside _FUNCTION_ZH 1, a Latin word outside
# _FUNCTION_EN 2) left beside a greeting or thanks names no topic.
_TOPIC = 3
# A sentence joins the question when it holds at least this share of the question's words: one
# word in common (every DingTalk help text says 钉钉) is not yet the same topic.
_RELATED = 0.25
# A question with less content than this asks about what was said before it (selection.py's).
_TOPIC_QUESTION = 5
_FUNCTION_ZH = frozenset(
    "我你您他她它们們的地得了吗嗎呢吧啊呀么麼是不有要能会會可以这這那个個些一下想问問请請"
)
_FUNCTION_EN = frozenset(
    {"i", "you", "we", "it", "this", "that", "my", "me", "a", "an", "the", "to", "of", "can",
     "could", "is", "are", "do", "for", "with", "and", "or", "there", "so", "now", "one", "be",
     "been", "was", "were", "has", "have", "had", "in", "on", "at", "if", "but", "not", "no"}
)  # fmt: skip
_QUESTION_EN = frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do",
     "does", "did", "will", "would", "should", "may"}
)  # fmt: skip


@dataclass(frozen=True)
class QueryBudget:
    """How much of a query is read: up to ``whole_words`` words all of it; past that,
    ``embed_words`` chosen words embedded and at most ``bm25_terms`` of their terms scored."""

    whole_words: int
    embed_words: int
    bm25_terms: int

    def __post_init__(self) -> None:
        if self.embed_words < 1 or self.bm25_terms < 1:
            raise ValueError(
                f"a query budget needs at least 1 word and 1 term, got {self.embed_words} "
                f"words and {self.bm25_terms} terms"
            )
        if self.whole_words < self.embed_words:
            raise ValueError(
                f"a query of {self.whole_words} words is read whole, so it cannot be cut to "
                f"{self.embed_words}"
            )


# Chosen on the long-query views (bench/results/long_queries.json). Up to 128 words a query is
# read as written: every dev query (at most 61) and every suggestion's query (its own selection,
# kb/assist/selection.py, at most 120) is searched exactly as before. A longer message is cut to
# 48 words: on the views 48 and 64 scored alike (tara .507, drcd .950 MRR@10 against .000 read
# whole), 32 lost drcd's longer questions and 96 lost on tara; 48 costs the least of the two.
# BM25's cap (16, 32 or 64 terms) changed nothing there; 32 bounds its cost.
DEFAULT_BUDGET = QueryBudget(whole_words=128, embed_words=48, bm25_terms=32)


# Characters a budget word may take on average: Latin words with their space and punctuation.
CHARS_PER_WORD = 8


@dataclass(frozen=True)
class BoundedQuery:
    embed: str  # what the embedder reads: the query itself when it is within the budget
    terms: list[TermGroup]  # what BM25 scores: the query's own terms when within the budget


def words(text: str) -> int:
    """Budget units: one per Chinese character, one per Latin word or number."""
    return len(_WORDS.findall(text))


def bound(
    text: str,
    idf: Callable[[TermGroup], float],
    tokenize: Callable[[str], list[TermGroup]],
    budget: QueryBudget | None = None,
) -> BoundedQuery:
    """Normalised ``text`` and its terms, cut to ``budget`` (:data:`DEFAULT_BUDGET`).

    ``idf`` gives a term's most BM25 can add (0 for a term the corpus lacks); ``tokenize`` cuts
    text into query terms. Only the chosen part of a long message is tokenised: what a query
    costs no longer grows with what the customer wrote around it.
    """
    budget = budget or DEFAULT_BUDGET
    if words(text) <= budget.whole_words and len(text) <= budget.whole_words * CHARS_PER_WORD:
        return BoundedQuery(text, tokenize(text))
    embed = embed_text(text, budget.embed_words, shared)
    # A "word" of hundreds of letters (a pasted URL, a log line) is still many tokens.
    embed = embed[-budget.embed_words * CHARS_PER_WORD :].strip()
    terms = tokenize(embed)
    if len(terms) <= budget.bm25_terms:
        return BoundedQuery(embed, terms)
    # Terms the corpus lacks add nothing to any score (idf 0): they go first out.
    ranked = sorted(range(len(terms)), key=lambda i: (-idf(terms[i]), i))
    return BoundedQuery(embed, [terms[i] for i in sorted(ranked[: budget.bm25_terms])])


def shared(unit: str, question: str) -> float:
    """The share of ``question``'s words ``unit`` holds too: Chinese character pairs and Latin
    words, function words left out. Computed without the tokenizer, so choosing costs little."""
    asked = _marks(question)
    return len(_marks(unit) & asked) / len(asked) if asked else 0.0


def _marks(text: str) -> set[str]:
    lowered = text.lower()
    pairs = {
        a + b
        for run in _CJK_RUN.findall(lowered)
        for a, b in itertools.pairwise(run)
        if a not in _FUNCTION_ZH and b not in _FUNCTION_ZH
    }
    latin = {
        w for w in _LATIN_WORD.findall(lowered) if w not in _FUNCTION_EN and w not in _QUESTION_EN
    }
    return pairs | latin


def embed_text(text: str, budget: int, related: Callable[[str, str], float]) -> str:
    """The question of ``text`` and the units most ``related`` to it, within ``budget`` words.

    ``related(unit, question)`` scores what a unit shares with the question (0: nothing, 1: all
    its words). A unit sharing less is left out however much room is left: a story about
    something else would pull the query away from what is asked. A question naming no topic of
    its own ("还能怎么办？") takes the unit before it.
    """
    parts = units(text, budget)
    topical = [i for i, unit in enumerate(parts) if not is_meta(unit)]
    if not topical:
        return last_words(text, budget, _WORDS)
    # "你好，在吗？" does not make the message one that marks its questions.
    marked = any("?" in parts[i] or "？" in parts[i] for i in topical)
    asking = [i for i in topical if is_question(parts[i], marked=marked)]
    # A message ends with its question more often than not, question mark or none.
    if is_question(parts[topical[-1]], marked=False) or not asking:
        anchor = topical[-1]
    else:
        anchor = asking[-1]
    used = words(parts[anchor])
    if used >= budget:
        return last_words(parts[anchor], budget, _WORDS)
    question = parts[anchor]
    score = {i: related(parts[i], question) for i in topical if i != anchor}
    before = [i for i in topical if i < anchor]
    if before and _content(question) < _TOPIC_QUESTION:
        score[before[-1]] = float("inf")
    chosen = {anchor}
    seen = {question}
    for i in sorted(score, key=lambda i: (-score[i], abs(i - anchor), -i)):
        cost = words(parts[i])
        if score[i] < _RELATED:
            break
        if parts[i] in seen or used + cost > budget:
            continue  # a repeat says nothing more; a unit too long for what is left is skipped
        chosen.add(i)
        seen.add(parts[i])
        used += cost
    return join_units([parts[i] for i in sorted(chosen)])


def units(text: str, budget: int) -> list[str]:
    """Sentences; one longer than ``budget`` words cut into its clauses."""
    out: list[str] = []
    for sentence in (s.strip() for s in SENTENCES.split(text)):
        if not sentence:
            continue
        if words(sentence) > budget:
            out.extend(c.strip() for c in CLAUSES.split(sentence) if c.strip())
        else:
            out.append(sentence)
    return [u for u in out if words(u)]


def is_question(unit: str, *, marked: bool) -> bool:
    """A question mark or final 吗/呢, an English question word first, or (in a message without
    question marks) a Chinese question word anywhere."""
    stripped = unit.rstrip(" 。.!！~～…")
    if stripped.endswith(_QUESTION_END):
        return True
    first = _WORDS.match(unit.lower())
    if first and first.group() in _QUESTION_EN:
        return True
    return not marked and any(w in unit for w in _QUESTION_ZH)


def is_meta(unit: str) -> bool:
    """A greeting, thanks or "please reply soon" with no topic of its own beside it."""
    if not _META.search(unit):
        return False
    return _content(_META.sub(" ", unit)) < _TOPIC


def _content(text: str) -> int:
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" and ch not in _FUNCTION_ZH)
    latin = sum(
        1
        for w in re.findall(r"[a-z']+", text.lower())
        if w not in _FUNCTION_EN and w not in _QUESTION_EN
    )
    return cjk + 2 * latin
