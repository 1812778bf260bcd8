"""Learning from agents' feedback: per-intent, capped, decaying adjustments and pinned answers.

Public entry points (stable: the replay benchmark drives them):

- ``rerank(kb, collection, logged_query, hits)``: the hits of a query as its intent's
  adjustments and pins order them (unchanged when learning is off or nothing applies).
- ``learned(kb, collection, logged_query, hits)``: the same order, and which hits are pinned.
- ``refresh(kb, collection=None)``: recompute the learned state from the database now (giving
  the queries agents gave feedback on their intents).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.context import KnowledgeBase
from kb.learning import adjustments
from kb.learning.intents import forget_cached, intent_of
from search.normalize import normalize
from search.types import Hit


def query_vector(kb: KnowledgeBase, text: str, *, embed: bool = False) -> np.ndarray | None:
    """The vector of a query the QueryEncoder already holds, or None; ``embed``: embed it
    when it does not (a manager naming an intent by a query, not a search)."""
    folded = normalize(text)
    encoder = kb.encoder
    if not folded or not (embed or encoder.has(folded)):
        return None
    return encoder.encode(folded)


@dataclass(frozen=True)
class Learned:
    """Hits as learning orders them, and the pinned ones among them (they lead)."""

    hits: list[Hit]
    pinned: frozenset[str] = frozenset()


def rerank(
    kb: KnowledgeBase,
    collection: str,
    logged_query: str,
    hits: Sequence[Hit],
    *,
    searched: str | None = None,
) -> list[Hit]:
    """``hits`` reordered by what agents taught for the intent of ``logged_query`` (the query
    as the suggestion log keeps it, redacted). ``searched``: the text whose vector the encoder
    holds, when it differs (unredacted). Reads only: a query of no stored intent takes the
    nearest one that means the same, and nothing is stored for it (see kb.learning.intents)."""
    return learned(kb, collection, logged_query, hits, searched=searched).hits


def learned(
    kb: KnowledgeBase,
    collection: str,
    logged_query: str,
    hits: Sequence[Hit],
    *,
    searched: str | None = None,
    pins: bool = False,
) -> Learned:
    """``rerank``'s order, and with ``pins`` the pinned answers named (an interleaving keeps
    them first)."""
    if not kb.settings.learning or not hits:
        return Learned(list(hits))
    # The learned state before the intent: reading it (at most once a minute) gives the queries
    # agents gave feedback on their intents, a collection's first ones too; looked up only once
    # an intent was found, they waited for a manager to open the learning page.
    adjustments.model(kb, collection)
    vector = query_vector(kb, searched or logged_query)
    intent = intent_of(kb, collection, logged_query, vector)
    ordered = adjustments.apply(kb, collection, intent, hits)
    return Learned(
        ordered, adjustments.pinned(kb, collection, intent, hits) if pins else frozenset()
    )


def refresh(kb: KnowledgeBase, collection: str | None = None) -> None:
    """Recompute the learned state of ``collection`` (every collection: drop it all) now."""
    if collection is None:
        adjustments.forget(kb)
        forget_cached(kb)
    else:
        adjustments.refresh(kb, collection)
