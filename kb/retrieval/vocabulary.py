"""The BM25 vocabulary knowledge managers edit: a jieba user dictionary and synonym sets.

Product names and service terms that jieba does not know (包邮, 七天无理由, X3 Pro) are cut
wrongly without a user dictionary, and customers ask with words the documents do not use
(退钱 for 退款) without synonyms. The files named by ``KB_USER_DICT`` / ``KB_SYNONYMS`` stay the
operator's base; what is edited here is added to them and kept in the database, newest first.

Saving rebuilds every collection's index, because BM25 tokens are cut when a generation is
built. Embeddings come from the cache, so a rebuild costs tokenising and index writing only.
Each generation keeps the vocabulary it was cut with, so queries always match their index,
in this process and in any other, even before the rebuild finishes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlmodel import col, select

from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import N_, Invalid, Message, parsed
from kb.models import IngestJob, VocabularyRecord, as_utc
from kb.queue.claims import enqueue
from kb.retrieval.indexing import known_collections, rebuild_index
from kb.retrieval.schemas import VocabularySaved, VocabularyVersion
from search.normalize import normalize
from search.tokenize import VocabularyProblem, synonym_problems, user_dict_problems

log = logging.getLogger(__name__)

MAX_VOCABULARY_CHARS = 200_000  # ~20k words: far beyond a product line's own terms


class VocabularyError(Invalid):
    """The first problem in an edited vocabulary, by field and line; nothing was saved."""

    def __init__(self, field: str, problems: list[VocabularyProblem]) -> None:
        first = problems[0]
        where = f"line {first.line}: " if first.line else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}{first.message}{more}", field=field)
        self.problems = problems


# Every problem a vocabulary line can have (search.tokenize's, in English, and the size limit
# below), so that the page shows it in its reader's language.
PROBLEM_FORMS: tuple[Message, ...] = (
    N_(
        "a line is one word, then a frequency and a tag, separated by spaces; "
        "put each word on its own line"
    ),
    N_("the frequency must be a whole number, not {value}"),
    N_("the word has no letters or characters"),
    N_("a synonym set needs at least two different words, separated by commas (，、 also work)"),
    N_("{size} characters, over the {limit} limit"),
)


def problem_message(problem: str) -> Message:
    """A vocabulary problem as a translatable Message (the words it quotes stay as written)."""
    return parsed(problem, PROBLEM_FORMS)


@dataclass(frozen=True)
class Vocabulary:
    user_dict: str = ""
    synonyms: str = ""


def edited_vocabulary(kb: KnowledgeBase) -> Vocabulary:
    """What knowledge managers saved last (empty if never), without the operator's files."""
    record = kb.latest_vocabulary()
    if record is None:
        return Vocabulary()
    return Vocabulary(user_dict=record.user_dict, synonyms=record.synonyms)


def vocabulary_problems(vocabulary: Vocabulary) -> dict[str, list[VocabularyProblem]]:
    """Problems by field (``user_dict``, ``synonyms``); empty when the vocabulary is usable."""
    found = {
        "user_dict": user_dict_problems(vocabulary.user_dict),
        "synonyms": synonym_problems(vocabulary.synonyms),
    }
    for field, text in (("user_dict", vocabulary.user_dict), ("synonyms", vocabulary.synonyms)):
        if len(text) > MAX_VOCABULARY_CHARS:
            message = f"{len(text)} characters, over the {MAX_VOCABULARY_CHARS} limit"
            found[field].insert(0, VocabularyProblem(0, "", message))
    return {field: problems for field, problems in found.items() if problems}


def save_vocabulary(
    kb: KnowledgeBase, vocabulary: Vocabulary, *, actor: str = SYSTEM_ACTOR
) -> VocabularySaved:
    """Check, store and apply an edited vocabulary; on any problem nothing changes.

    Returns what was done: the collections re-indexed and how long it took.
    """
    clean = Vocabulary(_tidy(vocabulary.user_dict), _tidy(vocabulary.synonyms))
    problems = vocabulary_problems(clean)
    for field in ("user_dict", "synonyms"):
        if field in problems:
            raise VocabularyError(field, problems[field])
    if clean == edited_vocabulary(kb):
        return VocabularySaved(changed=False, collections=[], seconds=0.0)
    started = time.perf_counter()
    with session_scope(kb.engine) as session:
        session.add(VocabularyRecord(user_dict=clean.user_dict, synonyms=clean.synonyms))
        record(session, actor=actor, action="vocabulary.save", target="vocabulary",
               detail=vocabulary_size(clean))  # fmt: skip
    collections = known_collections(kb)
    if kb.settings.workers == "external":  # `kb worker`s re-index; queries cut as before till then
        jobs = [enqueue(kb, IngestJob(kind="reindex", collection=c, stage="queued", actor=actor))
                for c in collections]  # fmt: skip
        return VocabularySaved(changed=True, collections=collections, seconds=0.0, jobs=jobs)
    for collection in collections:
        with kb.collection_lock(collection):
            rebuild_index(kb, collection)  # refreshes the tokenizer first
    seconds = round(time.perf_counter() - started, 2)
    return VocabularySaved(changed=True, collections=collections, seconds=seconds)


def vocabulary_history(kb: KnowledgeBase, limit: int = 10) -> list[VocabularyVersion]:
    with session_scope(kb.engine) as session:
        records = session.exec(
            select(VocabularyRecord).order_by(col(VocabularyRecord.id).desc()).limit(limit)
        ).all()
    return [
        VocabularyVersion(
            id=r.id or 0,
            created_at=as_utc(r.created_at),
            words=_count_lines(r.user_dict),
            synonym_sets=_count_lines(r.synonyms),
        )
        for r in records
    ]


def vocabulary_size(vocabulary: Vocabulary) -> dict[str, int]:
    """Words and synonym sets, comments and blank lines not counted."""
    return {
        "words": _count_lines(vocabulary.user_dict),
        "synonym_sets": _count_lines(vocabulary.synonyms),
    }


def cut(kb: KnowledgeBase, text: str) -> list[str]:
    """How BM25 cuts ``text`` with the vocabulary in force (for the console's preview)."""
    kb.refresh_tokenizer()  # another worker may have saved a new vocabulary
    return kb.tokenizer.tokenize(normalize(text))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _count_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))
