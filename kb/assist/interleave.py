"""The suggest path's part of the online check of learning (kb/learning/interleaving.py): which
suggestions interleave, their confidence badges, and the teams they record."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlmodel import Session

from kb.learning.interleaving import Team
from kb.learning_models import LearningInterleave
from kb.models import utcnow
from kb.retrieval.confidence import Confidence
from kb.settings import Settings
from search.types import Hit

_ORDER: dict[Confidence, int] = {"low": 0, "medium": 1, "high": 2}


def share(settings: Settings) -> float:
    """The share of suggestions interleaved: none while learning is off (there is no A)."""
    return settings.learning_interleave if settings.learning else 0.0


def graded_as_ranked(
    hits: Sequence[Hit], grade: Callable[[Sequence[Hit]], list[Confidence]]
) -> list[Confidence]:
    """Badges of interleaved answers: each graded where its score ranks it (an answer does not
    turn low because the other team's pick is shown above it), never rising down the list."""
    order = sorted(range(len(hits)), key=lambda i: -hits[i].score)
    ranked = grade([hits[i] for i in order])
    by_index = dict(zip(order, ranked, strict=True))
    out: list[Confidence] = []
    for i in range(len(hits)):
        own = by_index[i]
        out.append(min(own, out[-1], key=_ORDER.__getitem__) if out else own)
    return out


def record_teams(
    session: Session, suggestion_id: str, collection: str, teams: Mapping[str, Team]
) -> None:
    """Store (or, for a draft overwritten without a comparison, drop) the suggestion's teams."""
    row = session.get(LearningInterleave, suggestion_id)
    if not teams:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = LearningInterleave(suggestion_id=suggestion_id, collection=collection)
    row.collection, row.created_at, row.teams = collection, utcnow(), dict(teams)
    session.add(row)
