"""The answers of a suggestion: what is asked weighs as much as the whole turn, one answer once.

Three steps on top of the plain hybrid search, all measured on the conversation dev set
(bench/data/conversations, README "Suggestions mid-conversation"):

1. **Two views of the turn.** The bounded query (question and problem) and the question alone
   are searched; each answer scores the mean of its two fused scores. A long story shares its
   words with many entries ("不想要了" matches "can I return it?"); the question names the one
   that answers ("退货运费谁出").
2. **One answer once.** FAQ entries of different documents whose passages mean the same (the
   Taiwan site's Traditional FAQ and its Simplified twin) and the chunks of one manual section
   are one suggestion, ranked where its best member ranked.
3. **Shown as the agent reads it.** Of a group, the member in the customer's language leads,
   then the one in the agent's display script. English and Chinese versions of one FAQ are not
   grouped (the embedder scores them .94 at best, below same-language entries answering other
   questions): an answer in the other language family scores OTHER_LANGUAGE of its score.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

import numpy as np

from kb.assist.conversation import QueryPlan
from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.learning import learned
from kb.learning.interleaving import Team, team_draft
from kb.library.replies import detect_language
from kb.retrieval.searching import SearchRequest, search
from search.cache import embed_passages_cached
from search.embedders.base import EmbedderUnavailableError
from search.normalize import normalize
from search.types import Hit, SearchFilters

# Weight of the question-only search in an answer's score; the bounded query has the rest.
QUESTION_WEIGHT = 0.5
# Passage cosine at which two FAQ entries of different documents are one answer. Measured on
# the sample knowledge base: the six cross-script twin pairs score .967-.987; the closest pair
# that answers different questions (15-day exchange for weak suction vs for a fault) .948.
TWIN_COSINE = 0.96
# An answer in another language than the question's (English vs Chinese) scores this much of
# its fused score: the agent would have to translate it, and the fusion scores a chunk BM25
# cannot read by its vector alone, which lifted Chinese answers over the English entry that
# answers an English question.
OTHER_LANGUAGE = 0.7
# ... but only where an answer in the question's language competes: one whose score is at least
# the other-language answer's less this margin. An English question no English entry answers
# ("How long can I store it without using it?", answered by the Chinese manual's 5.5) kept the
# English returns FAQ first at 0.7; measured on the conversation dev set: margins .15 and above
# leave every rank unchanged (hit@1 .898 / tara .680), .10 moves one miss from rank 5 to 6.
OTHER_LANGUAGE_MARGIN = 0.15
# Hits fetched from each search before groups are formed and cut to the limit.
DEPTH = 30


@dataclass(frozen=True)
class Answer:
    """One suggestion: the hit shown, and the other entries it stands for (its twins)."""

    hit: Hit
    twins: tuple[Hit, ...] = ()
    team: Team | None = None  # interleaved: the ranking that picked it (kb.learning.interleaving)


def rank_answers(
    kb: KnowledgeBase,
    plan: QueryPlan,
    *,
    collection: str | None,
    filters: SearchFilters,
    limit: int,
    display_script: str | None,
    may_embed: bool = True,
    interleave: str | None = None,
) -> list[Answer]:
    """The answers for ``plan``, best first, at most ``limit``, twins collapsed; by keywords
    alone unless ``may_embed`` (False: the embedder is known to be down).

    ``interleave``: a suggestion id; the answers are then a team-draft interleaving of the
    learned ranking (A) and the fused one (B), each naming its team, unless the two show the
    same (see ``interleaved``). B is the same hits before learning: no second search."""
    depth = max(DEPTH, 2 * limit)

    def request(text: str) -> SearchRequest:
        # A suggestion embedded its texts already (for replies and rules): it always fuses.
        return SearchRequest(
            text, collection, limit=depth, filters=filters, may_skip=False, may_embed=may_embed
        )

    full = search(kb, request(plan.query))
    hits = full
    if plan.question and plan.question != plan.query:
        asked = search(kb, request(plan.question))
        hits = combine(full, asked, QUESTION_WEIGHT)
    wanted = detect_language(plan.question or plan.query)
    hits = prefer_language(hits, wanted, OTHER_LANGUAGE, OTHER_LANGUAGE_MARGIN)
    # What agents taught for this query's intent (kb/learning), keyed to the query as the log
    # and the feedback keep it (redacted); after fusion, before one answer stands for its twins.
    where = collection or kb.settings.default_collection
    pins = interleave is not None
    taught = learned(kb, where, redact(plan.query), hits, searched=plan.query, pins=pins)
    vectors: dict[str, np.ndarray] | None = {} if interleave is not None else None
    out = _answers(kb, taught.hits, wanted, display_script, vectors)
    if interleave is not None and _ids(taught.hits) != _ids(hits):
        plain = _answers(kb, hits, wanted, display_script, vectors)
        return interleaved(out, plain, limit, taught.pinned, interleave)
    return out[:limit]


def interleaved(
    a: Sequence[Answer], b: Sequence[Answer], limit: int, pinned: Collection[str], seed: str
) -> list[Answer]:
    """At most ``limit`` answers of ranking ``a`` and ``b`` interleaved team-draft (seeded by
    ``seed``), each with its team, an answer of ``b`` carrying its score in ``a``. Pinned
    answers lead as in ``a``, in no team: a manager's decision, not the experiment's. When the
    two rankings show the same answers in the same order there is nothing to compare: ``a``'s
    top, in no team."""
    lead = [x for x in a if not _keys(x).isdisjoint(pinned)][:limit]
    rest_a = [x for x in a if _keys(x).isdisjoint(pinned)]
    rest_b = [x for x in b if _keys(x).isdisjoint(pinned)]
    room = limit - len(lead)
    if _shown(rest_a[:room]) == _shown(rest_b[:room]):
        return list(a[:limit])
    learned_score = {key: x.hit.score for x in rest_a for key in _keys(x)}
    drafted = []
    for answer, team in team_draft(rest_a, rest_b, room, seed, keys=_keys):
        score = learned_score.get(answer.hit.chunk.chunk_id, answer.hit.score)
        drafted.append(replace(answer, hit=replace(answer.hit, score=score), team=team))
    return lead + drafted


def _answers(
    kb: KnowledgeBase,
    hits: Sequence[Hit],
    wanted: str,
    display_script: str | None,
    vectors: dict[str, np.ndarray] | None,
) -> list[Answer]:
    groups = group_twins(kb, hits, vectors)
    return [_present(group, wanted, display_script) for group in groups]


def _keys(answer: Answer) -> frozenset[str]:
    """The chunks one answer stands for: shown in either ranking, it is one pick."""
    return frozenset([answer.hit.chunk.chunk_id, *(h.chunk.chunk_id for h in answer.twins)])


def _ids(hits: Sequence[Hit]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def _shown(answers: Sequence[Answer]) -> list[str]:
    return [a.hit.chunk.chunk_id for a in answers]


def combine(full: Sequence[Hit], asked: Sequence[Hit], weight: float) -> list[Hit]:
    """Each hit of either list scored ``weight`` × its question score + the rest × full score.

    A hit missing from one list takes that list's lowest score: it ranked below all of them.
    """
    if not full or not asked:
        return list(full or asked)
    by_id: dict[str, tuple[Hit | None, Hit | None]] = {}
    for hit in full:
        by_id[hit.chunk.chunk_id] = (hit, None)
    for hit in asked:
        first, _ = by_id.get(hit.chunk.chunk_id, (None, None))
        by_id[hit.chunk.chunk_id] = (first, hit)
    floor_full, floor_asked = full[-1].score, asked[-1].score
    out = []
    for f, a in by_id.values():
        base = f or a
        assert base is not None
        score = weight * (a.score if a else floor_asked) + (1 - weight) * (
            f.score if f else floor_full
        )
        cosines = [h.vector_score for h in (f, a) if h and h.vector_score is not None]
        out.append(replace(base, score=score, vector_score=max(cosines) if cosines else None))
    out.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return out


def prefer_language(
    hits: Sequence[Hit], language: str, factor: float, margin: float = math.inf
) -> list[Hit]:
    """Hits re-ordered with answers in the other language family scored ``factor`` × theirs
    when an answer in the question's language competes with them: one scoring at least theirs
    less ``margin``. An answer in the other language that leads every same-language one by more
    is the one that answers (no English entry does), and keeps its score.
    """
    if factor == 1.0:
        return list(hits)
    english = language == "en"
    same = [h.score for h in hits if (_language(h) == "en") == english]
    rival = max(same, default=-math.inf)
    out = [
        h
        if (_language(h) == "en") == english or rival < h.score - margin
        else replace(h, score=h.score * factor)
        for h in hits
    ]
    out.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return out


def group_twins(
    kb: KnowledgeBase, hits: Sequence[Hit], known: dict[str, np.ndarray] | None = None
) -> list[list[Hit]]:
    """Hits in order, each group holding the entries of one answer (best first). ``known``:
    passage vectors by chunk id, read first and filled (the same hits in another order)."""
    faq = [i for i, h in enumerate(hits) if h.chunk.kind == "faq"]
    vectors = None
    # A passage the cache lacks while the embedder is down: each FAQ entry is its own answer.
    with suppress(EmbedderUnavailableError):
        vectors = _faq_vectors(kb, [hits[i] for i in faq], known) if len(faq) > 1 else None
    row = {i: n for n, i in enumerate(faq)}
    groups: list[list[int]] = []
    for i in range(len(hits)):
        for group in groups:
            if any(_same_answer(hits, vectors, row, j, i) for j in group):
                group.append(i)
                break
        else:
            groups.append([i])
    return [[hits[i] for i in group] for group in groups]


def _same_answer(
    hits: Sequence[Hit], vectors: np.ndarray | None, row: dict[int, int], i: int, j: int
) -> bool:
    a, b = hits[i].chunk, hits[j].chunk
    if a.kind != "faq" and b.kind != "faq":
        # Two chunks of one manual or policy section are one passage cut in two.
        return a.document_id == b.document_id and bool(a.section) and a.section == b.section
    if a.kind != b.kind or a.document_id == b.document_id or vectors is None:
        return False
    return float(vectors[row[i]] @ vectors[row[j]]) >= TWIN_COSINE


def _faq_vectors(
    kb: KnowledgeBase, hits: Sequence[Hit], known: dict[str, np.ndarray] | None
) -> np.ndarray:
    ids = [h.chunk.chunk_id for h in hits]
    if known is not None and all(i in known for i in ids):
        return np.stack([known[i] for i in ids])
    vectors = _passage_vectors(kb, hits)
    if known is not None:
        known.update(zip(ids, vectors, strict=True))
    return vectors


def _passage_vectors(kb: KnowledgeBase, hits: Sequence[Hit]) -> np.ndarray:
    """The indexed passages' vectors, read from the embedding cache the index was built from."""
    texts = [normalize(h.chunk.index_text) for h in hits]
    return embed_passages_cached(kb.embedder, kb.embedding_cache, texts).vectors


def _present(group: list[Hit], language: str, display_script: str | None) -> Answer:
    """The member in the customer's language, then in the agent's script, leads its group."""

    def fit(hit: Hit) -> tuple[int, int]:
        lang = _language(hit)
        same_family = (lang == "en") == (language == "en")
        script = display_script or (language if language != "en" else None)
        return (0 if same_family else 1, 0 if script is None or lang == script else 1)

    lead = min(group, key=fit)  # min keeps the best-scored of equally fitting members
    shown = replace(lead, score=group[0].score) if lead is not group[0] else lead
    return Answer(shown, tuple(h for h in group if h is not lead))


def _language(hit: Hit) -> str:
    declared = (hit.chunk.language or "").lower()
    if declared.startswith("en"):
        return "en"
    if declared in ("zh-hant", "zh-tw", "zh-hk"):
        return "zh-Hant"
    if declared.startswith("zh"):
        return "zh-Hans"
    return detect_language(hit.chunk.question or hit.chunk.text)
