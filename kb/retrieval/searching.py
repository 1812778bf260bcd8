"""Search requests: validate, make sure the collection's index is live, run the hybrid search."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kb.context import KnowledgeBase
from kb.errors import Conflict, Invalid, NotFound
from kb.learning import rerank
from kb.retrieval.indexing import ensure_fresh
from kb.retrieval.schemas import (
    MAX_SEARCH_LIMIT,
    Scores,
    SearchBody,
    SearchHit,
    SearchResponse,
    Source,
)
from kb.review import due_for_review
from kb.types import SearchMode, collection_name
from search.index import IndexMismatchError, IndexNotFoundError, SearchIndexError
from search.normalize import normalize
from search.types import Hit, SearchFilters, SearchResult

Mode = SearchMode
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchRequest:
    query: str
    collection: str | None = None  # None: the settings' default_collection
    limit: int | None = None  # None: the settings' search_limit
    filters: SearchFilters = field(default_factory=SearchFilters)
    mode: Mode = "hybrid"
    # A decisive BM25 ranking may be served without embedding the query (KB_SKIP_EMBEDDING);
    # False where both signals must be shown (the console's hit test).
    may_skip: bool = True
    # False: the caller knows the embedder is down; a hybrid search serves BM25 alone at once.
    may_embed: bool = True
    # False: an embedder that is down is an error, not a keyword-only answer (an evaluation run
    # or the hit test, whose hybrid numbers must be hybrid).
    may_degrade: bool = True


def search(kb: KnowledgeBase, request: SearchRequest) -> list[Hit]:
    """The ranked hits of a request; raises Invalid, NotFound or Conflict naming the field."""
    return search_result(kb, request).hits


def search_result(kb: KnowledgeBase, request: SearchRequest) -> SearchResult:
    """:func:`search`, with whether it was served without embedding the query."""
    query = request.query.strip()
    if not query:
        raise Invalid("query is empty", field="query")
    if len(query) > kb.settings.max_query_chars:
        raise Invalid(
            "query is {value} characters, over the {max_query_chars} limit",
            field="query",
            value=len(query),
            max_query_chars=kb.settings.max_query_chars,
        )
    limit = kb.settings.search_limit if request.limit is None else request.limit
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise Invalid(
            "limit must be between 1 and {MAX_SEARCH_LIMIT}, got {limit}",
            field="limit",
            MAX_SEARCH_LIMIT=MAX_SEARCH_LIMIT,
            limit=limit,
        )
    collection = collection_name(request.collection or kb.settings.default_collection)
    complete_pending_switch(kb, collection)
    try:
        searcher = kb.searchers.get(collection)
    except (IndexMismatchError, IndexNotFoundError) as exc:  # e.g. its Milvus segment is gone
        raise Conflict("{exc} with `kb index rebuild`", field="collection", exc=exc) from exc
    if searcher is None:
        raise NotFound(
            "unknown collection {collection!r}", field="collection", collection=collection
        )
    return searcher.run(
        query,
        limit=limit,
        filters=request.filters,
        mode=request.mode,
        may_skip=request.may_skip,
        may_embed=request.may_embed,
        may_degrade=request.may_degrade,
    )


def prefetch_queries(kb: KnowledgeBase, queries: Sequence[str]) -> None:
    """Embed the (non-empty) ``queries`` in one call, as searches of them will read them: a
    caller about to run several searches and matches pays one batch, not one call each."""
    texts = [t for t in dict.fromkeys(normalize(q) for q in queries) if t]
    if texts:
        kb.encoder.embed_queries(texts)


def complete_pending_switch(kb: KnowledgeBase, collection: str) -> None:
    """Before answering, finish the switch a killed writer left (database ahead of the index),
    so a search serves what `kb documents show` and the console list. One ``stat`` otherwise."""
    if not kb.catalog.pending(collection):
        return
    try:
        if ensure_fresh(kb, collection):
            log.info("completed the pending switch of %r before searching it", collection)
    except (OSError, SearchIndexError) as exc:  # e.g. a full disk: answer from what is live
        log.warning("could not complete the pending switch of %r: %s", collection, exc)


def search_body(kb: KnowledgeBase, body: SearchBody) -> SearchResponse:
    """An API (or CLI) search body answered as the API publishes it."""
    start = time.perf_counter()
    filters = body.filters.to_search_filters()
    request = SearchRequest(body.query, body.collection, body.limit, filters, body.mode)
    result = search_result(kb, request)
    # What agents taught for the query's intent, when it is one they met (nothing is stored for
    # a search: its query is not logged; the vector is the one the search used, if it embedded).
    collection = collection_name(body.collection or kb.settings.default_collection)
    learned = rerank(kb, collection, body.query, result.hits)
    hits = search_hits(kb, learned)
    took = round((time.perf_counter() - start) * 1000, 2)
    return SearchResponse(
        query=body.query,
        hits=hits,
        took_ms=took,
        embedding_skipped=result.embedding_skipped,
        degraded=result.degraded,
    )


def query_terms(kb: KnowledgeBase, collection: str, query: str) -> list[tuple[str, list[str]]]:
    """How BM25 reads ``query`` in ``collection``'s live index: each term with its synonyms.

    Cut with the vocabulary that index was built with, as the search itself does.
    """
    searcher = kb.searchers.get(collection)
    if searcher is None or not query.strip():
        return []
    return searcher.tokenizer.explain(normalize(query))


def citation(hit: Hit) -> Source:
    """Where a hit came from: enough for "Manual X › 3 Returns › 3.2 Refunds, p. 14"."""
    c = hit.chunk
    return Source(
        document_id=c.document_id,
        title=c.document_title,
        version=c.version,
        section=list(c.section),
        page=c.page,
    )


def search_hits(kb: KnowledgeBase, hits: list[Hit]) -> list[SearchHit]:
    """Hits as the API publishes them, those of documents overdue for review marked."""
    due = due_for_review(kb, {h.chunk.document_id for h in hits})
    return [search_hit(h, due=h.chunk.document_id in due) for h in hits]


def search_hit(hit: Hit, *, due: bool = False) -> SearchHit:
    """A hit as the API publishes it."""
    c = hit.chunk
    return SearchHit(
        id=c.chunk_id,
        kind=c.kind,
        doc_type=c.doc_type,
        question=c.question,
        text=c.text,
        highlight=hit.highlight,
        score=round(hit.score, 6),
        scores=Scores(
            bm25=hit.bm25_score,
            vector=hit.vector_score,
            bm25_rank=hit.bm25_rank,
            vector_rank=hit.vector_rank,
        ),
        source=citation(hit),
        due_for_review=due,
    )


def format_citation(hit: Hit) -> str:
    c = hit.chunk
    parts = [c.document_title, *c.section]
    text = " › ".join(p for p in parts if p)
    if c.page:
        text += f", p. {c.page}"
    return f"{text} (v{c.version})"
