"""Where the two loops meet: an accepted draft pinned for the intents of the gap it answers.

A gap (kb/upkeep/gaps.py) is a batch clustering of the queries agents failed on; an intent
(kb/learning/intents.py) is what the suggest path keys learned adjustments and pins to. When a
manager accepts a draft and asks for a pin, the gap's wordings are given learning intents (by
the same rule as any logged query: they join the intents they mean, or start their own), and
the new answer is pinned for each. Search alone may rank the new FAQ first for the wordings
agents asked; the pin makes it lead for every later query of those intents, until the FAQ
changes or the pin expires, and the learning page shows and can remove it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid
from kb.learning.intents import assign_intents, known_intent
from kb.learning.pins import create_pin
from kb.models import ChunkRecord, Document, DocumentVersion


def check_pinnable(kb: KnowledgeBase) -> None:
    """Refuse before anything is published: with learning off a pin would never apply."""
    if not kb.settings.learning:
        raise Invalid(
            "pins need learning on (KB_LEARNING): accept without pinning, or turn learning on",
            field="pin",
        )


def pin_for_gap(
    kb: KnowledgeBase, collection: str, document_id: str, queries: Sequence[str], actor: str
) -> list[str]:
    """Pin the document's answer for the intents of ``queries`` (as logged); the pins' ids."""
    with session_scope(kb.engine) as session:
        answer = session.exec(
            select(ChunkRecord.id)
            .join(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
            .join(Document, col(Document.id) == col(ChunkRecord.document_id))
            .where(
                ChunkRecord.document_id == document_id,
                col(DocumentVersion.number) == col(Document.current_version),
            )
            .order_by(col(ChunkRecord.ordinal))
        ).first()
    if answer is None:
        return []
    assign_intents(kb, collection, queries)
    intents = dict.fromkeys(
        intent for q in queries if (intent := known_intent(kb, collection, q)) is not None
    )
    return [
        create_pin(kb, collection=collection, item_id=answer, actor=actor, intent_id=intent).id
        for intent in intents
    ]
