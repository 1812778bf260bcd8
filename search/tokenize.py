"""BM25 tokenisation: jieba search mode for CJK runs, words for Latin script and digits.

Input is text already passed through :func:`search.normalize.normalize`. A user dictionary
(jieba format, ``word [freq] [tag]`` per line) and synonym sets (one set per line,
comma-separated) are optional files that knowledge managers edit; both are normalised on load
so they may be written in Traditional or Simplified script.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from search.normalize import normalize

logger = logging.getLogger(__name__)

# Bump when the index-side token stream changes, so stale BM25 state is noticed.
TOKENIZER_CODE_VERSION = "1"

# Alternatives for one query word; each alternative is a token sequence (a synonym may be a phrase).
TermGroup = tuple[tuple[str, ...], ...]

# Kept short on purpose: only words that carry no topic. Negations (没, 不, not, no) stay.
STOPWORDS_ZH = frozenset(
    (  # noqa: SIM905  # a word list reads better as one string
        "的 了 吗 呢 吧 啊 呀 哦 嘛 是 我 我要 我想 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 "
        "怎么 怎样 如何 什么 请问 一下 和 与 及 或 在 也 就 都 把 被 着 过 得 地"
    ).split()
)
STOPWORDS_EN = frozenset(
    (  # noqa: SIM905
        "a an the is are was were be been am do does did to of and or in on at for with by from "
        "it its this that these those i me my you your we our he she they them his her "
        "how what can could would should will please"
    ).split()
)
STOPWORDS = STOPWORDS_ZH | STOPWORDS_EN

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_CJK_WORD = re.compile(rf"[{_CJK}]{{2,}}")
_ALPHA_DIGIT = re.compile(r"[^\W\d_]+|\d+")
_SYNONYM_SEPARATORS = re.compile(r"[,，、;；]")


class _Segmenter(Protocol):
    def cut_for_search(self, sentence: str) -> Iterator[str]: ...

    def cut(self, sentence: str) -> Iterator[str]: ...

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None: ...


class Tokenizer:
    """Turns normalised text into BM25 tokens; initialises jieba lazily, once."""

    def __init__(
        self,
        user_dict: Path | None = None,
        synonyms: Path | None = None,
        *,
        user_dict_text: str = "",
        synonyms_text: str = "",
    ) -> None:
        """Files (``KB_USER_DICT``, ``KB_SYNONYMS``) and texts (edited in the console) combine."""
        self.user_dict_text = _join(
            user_dict.read_text(encoding="utf-8") if user_dict else "", user_dict_text
        )
        self.synonyms_text = _join(
            synonyms.read_text(encoding="utf-8") if synonyms else "", synonyms_text
        )
        self._synonym_sets = _parse_synonyms(self.synonyms_text)
        digest = hashlib.sha256()
        for part in (TOKENIZER_CODE_VERSION, self.user_dict_text, self.synonyms_text):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(" ".join(sorted(STOPWORDS)).encode("utf-8"))
        self.version = f"jieba-{importlib.metadata.version('jieba')}+{digest.hexdigest()[:12]}"
        self._jieba: _Segmenter | None = None
        self._lock = threading.Lock()
        self._synonyms: dict[str, TermGroup] = {}

    def _segmenter(self) -> _Segmenter:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    self._jieba = self._init_jieba()
        return self._jieba

    def _init_jieba(self) -> _Segmenter:
        import jieba

        # jieba announces dictionary loading on its own stderr handler.
        jieba.setLogLevel(logging.WARNING)
        raw = jieba.Tokenizer()
        raw.initialize()
        segmenter: _Segmenter = raw
        for word, freq, tag in _parse_user_dict(self.user_dict_text):
            segmenter.add_word(word, freq, tag)
        # Multi-character CJK synonyms become dictionary words, so 退钱 is cut as one token.
        for group in self._synonym_sets:
            for term in group:
                if _CJK_WORD.fullmatch(term):
                    segmenter.add_word(term)
        self._synonyms = self._build_synonyms(segmenter)
        return segmenter

    def _build_synonyms(self, segmenter: _Segmenter) -> dict[str, TermGroup]:
        table: dict[str, TermGroup] = {}
        for group in self._synonym_sets:
            members = tuple(
                dict.fromkeys(
                    t
                    for t in (tuple(self._tokens(segmenter, term, precise=True)) for term in group)
                    if t
                )
            )
            for member in members:
                if len(member) == 1:
                    table[member[0]] = members
        return table

    def _tokens(self, segmenter: _Segmenter, text: str, *, precise: bool = False) -> Iterator[str]:
        for match in _RUNS.finditer(text):
            run = match.group()
            if match["cjk"]:
                # Synonym phrases use precise mode: the whole word is one of the search-mode tokens.
                pieces = segmenter.cut(run) if precise else segmenter.cut_for_search(run)
                yield from (p for p in pieces if p not in STOPWORDS)
            elif run not in STOPWORDS:
                yield run
                parts = _ALPHA_DIGIT.findall(run)
                # "iphone15" also yields "iphone" and "15", so "iPhone 15" finds it.
                if len(parts) > 1:
                    yield from (p for p in parts if p not in STOPWORDS)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of normalised ``text``, in order, stop words dropped."""
        return list(self._tokens(self._segmenter(), text))

    def query_terms(self, text: str) -> list[TermGroup]:
        """Distinct query tokens, each expanded to its synonym set (a group of alternatives)."""
        segmenter = self._segmenter()
        groups: dict[TermGroup, None] = {}
        for token in dict.fromkeys(self._tokens(segmenter, text)):
            groups.setdefault(self._synonyms.get(token, ((token,),)))
        return list(groups)

    def explain(self, text: str) -> list[tuple[str, list[str]]]:
        """Each distinct query token with the synonyms it also matches (for people to read)."""
        segmenter = self._segmenter()
        out = []
        for token in dict.fromkeys(self._tokens(segmenter, text)):
            group = self._synonyms.get(token, ((token,),))
            out.append((token, ["".join(alt) for alt in group if alt != (token,)]))
        return out


def _join(*texts: str) -> str:
    return "\n".join(t.strip("\n") for t in texts if t.strip())


@dataclass(frozen=True)
class VocabularyProblem:
    """A line a knowledge manager wrote that the tokenizer cannot use."""

    line: int
    text: str
    message: str


def user_dict_problems(text: str) -> list[VocabularyProblem]:
    """Lines of a user dictionary (``word [freq] [tag]``) that would be misread."""
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) > 3:
            problems.append(
                VocabularyProblem(
                    number,
                    raw,
                    "a line is one word, then a frequency and a tag, "
                    "separated by spaces; put each word on its own line",
                )
            )
        elif len(fields) == 3 and not fields[1].isdigit():
            problems.append(
                VocabularyProblem(
                    number, raw, f"the frequency must be a whole number, not {fields[1]!r}"
                )
            )
        elif not _RUNS.search(normalize(fields[0])):
            problems.append(VocabularyProblem(number, raw, "the word has no letters or characters"))
    return problems


def synonym_problems(text: str) -> list[VocabularyProblem]:
    """Lines of a synonym file (one set per line, comma-separated) that would be misread."""
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        terms = {normalize(p) for p in _SYNONYM_SEPARATORS.split(raw)} - {""}
        if len(terms) < 2:
            problems.append(
                VocabularyProblem(
                    number,
                    raw,
                    "a synonym set needs at least two different words, "
                    "separated by commas (，、 also work)",
                )
            )
    return problems


def _parse_user_dict(text: str) -> Iterator[tuple[str, int | None, str | None]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        word = normalize(fields[0])
        freq: int | None = None
        tag: str | None = None
        for extra in fields[1:3]:
            if extra.isdigit():
                freq = int(extra)
            else:
                tag = extra
        if len(fields) > 3:
            logger.warning("user dictionary line %d has extra fields: %r", number, raw)
        yield word, freq, tag


def _parse_synonyms(text: str) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        terms = tuple(
            dict.fromkeys(t for t in (normalize(p) for p in _SYNONYM_SEPARATORS.split(raw)) if t)
        )
        if len(terms) > 1:
            sets.append(terms)
    return sets
