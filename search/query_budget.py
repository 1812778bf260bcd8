"""A long query's bounded parts: the text the embedder reads and the terms BM25 scores.

A 2,000-character message cost 58 times a short question: e5 read all of it (up to 512 tokens,
attention quadratic in them) and BM25 scored some 400 terms over every chunk. What a query costs
is bounded here instead, by design:

- the embedder reads the question (the last sentence that asks, else the last sentence) and then
  the most informative other sentences (highest idf per word), nearest the question first on a
  tie, up to :attr:`QueryBudget.embed_words` words (one per Chinese character or Latin word, so
  both scripts get the same room), kept in message order;
- BM25 scores at most :attr:`QueryBudget.bm25_terms` distinct terms: those of the embedded text
  first, then the rest of the message's, each side by idf, highest first.

A query within both budgets is searched exactly as written (same text, same terms, same order).
The budgets were chosen on long views of the dev sets (``bench/long_queries.py``). The same idea
as the suggest path's selection (``kb/assist/selection.py``), which search cannot import; this
one ranks by the index's own statistics rather than by word lists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from search.tokenize import TermGroup

_SENTENCES = re.compile(r"(?<=[。！？!?；;…])\s*|(?<=[.])\s+|\s*\n+\s*")
_CLAUSES = re.compile(r"(?<=[，,、：:])\s*")
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
_FUNCTION_ZH = frozenset(
    "我你您他她它们們的地得了吗嗎呢吧啊呀么麼是不有要能会會可以这這那个個些一下想问問请請"
)
_FUNCTION_EN = frozenset(
    {"i", "you", "we", "it", "this", "that", "my", "me", "a", "an", "the", "to", "of", "can",
     "could", "is", "are", "do", "for", "with", "and", "or", "there", "so", "now", "one"}
)  # fmt: skip
_QUESTION_EN = frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do",
     "does", "did", "will", "would", "should", "may"}
)  # fmt: skip


@dataclass(frozen=True)
class QueryBudget:
    """How much of a query is read: words embedded, distinct terms scored by BM25."""

    embed_words: int
    bm25_terms: int

    def __post_init__(self) -> None:
        if self.embed_words < 1 or self.bm25_terms < 1:
            raise ValueError(
                f"a query budget needs at least 1 word and 1 term, got {self.embed_words} "
                f"words and {self.bm25_terms} terms"
            )


# Chosen on the long-query views (bench/results/long_queries.json): 64 words keeps the long
# views' MRR@10 at or above reading the whole message, every dev query fits in it untouched,
# and embedding 64 words costs ~2x a 30-character question rather than ~40x.
DEFAULT_BUDGET = QueryBudget(embed_words=64, bm25_terms=32)


@dataclass(frozen=True)
class BoundedQuery:
    embed: str  # what the embedder reads: the query itself when it is within the budget
    terms: list[TermGroup]  # what BM25 scores: the query's own terms when within the budget


def words(text: str) -> int:
    """Budget units: one per Chinese character, one per Latin word or number."""
    return len(_WORDS.findall(text))


def bound(
    text: str,
    terms: list[TermGroup],
    idf: Callable[[TermGroup], float],
    tokenize: Callable[[str], list[TermGroup]],
    budget: QueryBudget | None = None,
) -> BoundedQuery:
    """``text`` (normalised) and its ``terms`` cut to ``budget`` (:data:`DEFAULT_BUDGET`).

    ``idf`` gives a term's most BM25 can add (0 for a term the corpus lacks); ``tokenize``
    cuts a sentence into terms as the query was cut.
    """
    budget = budget or DEFAULT_BUDGET
    embed = text
    if words(text) > budget.embed_words:
        embed = embed_text(text, budget.embed_words, lambda unit: _density(unit, tokenize, idf))
    if len(terms) <= budget.bm25_terms:
        return BoundedQuery(embed, terms)
    first = set(tokenize(embed)) if embed is not text else set()
    # Terms the corpus lacks add nothing to any score: they go last, whatever their order.
    ranked = sorted(range(len(terms)), key=lambda i: (terms[i] not in first, -idf(terms[i]), i))
    kept = sorted(ranked[: budget.bm25_terms])  # in the query's own order
    return BoundedQuery(embed, [terms[i] for i in kept])


def embed_text(text: str, budget: int, informative: Callable[[str], float]) -> str:
    """The question of ``text`` and its most ``informative`` other units within ``budget`` words."""
    parts = units(text, budget)
    topical = [i for i, unit in enumerate(parts) if not is_meta(unit)]
    if not topical:
        return _last_words(text, budget)
    # "你好，在吗？" does not make the message one that marks its questions.
    marked = any("?" in parts[i] or "？" in parts[i] for i in topical)
    asking = [i for i in topical if is_question(parts[i], marked=marked)]
    anchor = asking[-1] if asking else topical[-1]
    used = words(parts[anchor])
    if used >= budget:
        return _last_words(parts[anchor], budget)
    score = {i: informative(parts[i]) for i in topical if i != anchor}
    chosen = {anchor}
    seen = {parts[anchor]}
    for i in sorted(score, key=lambda i: (i not in asking, -score[i], abs(i - anchor), -i)):
        cost = words(parts[i])
        if parts[i] in seen or used + cost > budget:
            continue  # a repeat says nothing more; a unit too long for what is left is skipped
        chosen.add(i)
        seen.add(parts[i])
        used += cost
    return _join([parts[i] for i in sorted(chosen)])


def units(text: str, budget: int) -> list[str]:
    """Sentences; one longer than ``budget`` words cut into its clauses."""
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCES.split(text)):
        if not sentence:
            continue
        if words(sentence) > budget:
            out.extend(c.strip() for c in _CLAUSES.split(sentence) if c.strip())
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
    rest = _META.sub(" ", unit)
    cjk = sum(1 for ch in rest if "\u3400" <= ch <= "\u9fff" and ch not in _FUNCTION_ZH)
    latin = sum(1 for w in re.findall(r"[a-z']+", rest.lower()) if w not in _FUNCTION_EN)
    return cjk + 2 * latin < _TOPIC


def _density(
    unit: str, tokenize: Callable[[str], list[TermGroup]], idf: Callable[[TermGroup], float]
) -> float:
    """Idf per word: a sentence of rare words says more than one of greetings and fillers."""
    return sum(idf(term) for term in set(tokenize(unit))) / max(1, words(unit))


def _join(parts: Sequence[str]) -> str:
    # Chinese units run on without spaces; Latin ones need one.
    out = parts[0]
    for part in parts[1:]:
        out += ("" if out[-1:] in "。！？；…，、：" else " ") + part
    return out


def _last_words(unit: str, budget: int) -> str:
    """The end of one over-long unit (where a question usually is), cut between words."""
    found = list(_WORDS.finditer(unit))
    if len(found) <= budget:
        return unit
    return unit[found[-budget].start() :].strip()


def lucene_idf(df: int, doc_count: int) -> float:
    """Lucene's BM25 idf: the most one matching term adds to a chunk's score."""
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))
