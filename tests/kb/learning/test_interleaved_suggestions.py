"""The online check of learning on the suggest path (kb/assist/interleave.py, ranking.py), on
SQLite and PostgreSQL: with ``learning_interleave`` on, a suggestion whose learned (A) and
unlearned (B) rankings differ shows their team-draft interleaving and records each answer's
team; pins lead in no team; the share is chosen by suggestion id; off, nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from learning_faq import AGENTS, QUESTION, ask, faq_kb, use
from pydantic import ValidationError
from sqlmodel import select

from kb.assist.conversation import Turn
from kb.assist.redaction import redact
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.learning.interleaving import takes_part
from kb.learning.pins import create_pin
from kb.learning_models import LearningInterleave
from kb.settings import Settings


def recorded(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    with session_scope(kb.engine) as session:
        return {r.suggestion_id: r.teams for r in session.exec(select(LearningInterleave))}


def ids(kb: KnowledgeBase, **settings: object) -> list[str]:
    """The answers a suggestion shows under ``settings`` (the others as they are)."""
    kept = kb.settings
    kb.settings = kept.model_copy(update=settings)
    try:
        return [a.id for a in ask(kb).answers]
    finally:
        kb.settings = kept


def taught(make_db_kb: Callable[..., KnowledgeBase], **settings: object) -> KnowledgeBase:
    """A knowledge base whose agents taught the question's third answer to rise."""
    kb = faq_kb(make_db_kb, **settings)
    use(kb, 3, AGENTS, times=2)
    return kb


def test_an_interleaved_suggestion_shows_both_rankings_and_records_each_answers_team(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb, learning_interleave=1.0)
    ask(kb)
    assert recorded(kb) == {}  # nothing learned yet: A is B, nothing to compare
    use(kb, 3, AGENTS, times=2)
    a = ids(kb, learning_interleave=0.0)
    b = ids(kb, learning=False)
    assert a != b and set(a) == set(b)
    made = ask(kb)
    teams = recorded(kb)[made.suggestion_id]
    shown = [answer.id for answer in made.answers]
    assert set(teams) == set(shown) and len(shown) == len(a)
    for item in shown:
        assert item in (a if teams[item] == "A" else b)
    assert a[0] in shown and b[0] in shown
    sizes = [list(teams.values()).count(team) for team in "AB"]
    assert abs(sizes[0] - sizes[1]) <= 1
    order = {"high": 2, "medium": 1, "low": 0}
    badges = [order[answer.confidence] for answer in made.answers]
    assert badges == sorted(badges, reverse=True)  # a badge never contradicts the order


def test_pinned_answers_lead_in_no_team(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = taught(make_db_kb, learning_interleave=1.0)
    last = ids(kb, learning=False)[-1]
    create_pin(kb, collection="default", item_id=last, actor="user:boss@assistkb.test",
               logged_query=redact(QUESTION))  # fmt: skip
    made = ask(kb)
    assert made.answers[0].id == last
    teams = recorded(kb)[made.suggestion_id]
    assert last not in teams and set(teams) == {a.id for a in made.answers[1:]}


def test_the_share_is_chosen_by_suggestion_id_and_a_draft_keeps_its_record(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = taught(make_db_kb, learning_interleave=0.5)
    made = [ask(kb).suggestion_id for _ in range(8)]
    assert set(recorded(kb)) == {sid for sid in made if takes_part(sid, 0.5)}
    # The panel's next draft of the same message overwrites the suggestion, id and teams.
    kb.settings = kb.settings.model_copy(update={"learning_interleave": 1.0})
    first = ask(kb).suggestion_id
    turn = [Turn(role="customer", text=QUESTION)]
    again = suggest(kb, SuggestInput(conversation=turn, limit=5, supersedes=first))
    assert again.suggestion_id == first
    assert set(recorded(kb)[first]) == {a.id for a in again.answers}
    # ... and a draft that became a question learning knows nothing of compares nothing.
    other = [Turn(role="customer", text="发票怎么开？")]
    last = suggest(kb, SuggestInput(conversation=other, limit=5, supersedes=first))
    assert last.suggestion_id == first and first not in recorded(kb)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "half"])
def test_a_bad_share_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KB_LEARNING_INTERLEAVE", value)
    with pytest.raises(ValidationError, match="learning_interleave"):
        Settings()
    monkeypatch.setenv("KB_LEARNING_INTERLEAVE", "0.25")
    assert Settings().learning_interleave == 0.25


def test_off_by_the_share_or_by_learning_nothing_is_recorded_and_rankings_stay(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = taught(make_db_kb)  # the default share: 0
    learned = [(a.id, a.score, a.confidence) for a in ask(kb).answers]
    assert [a.id for a in ask(kb).answers] == ids(kb, learning_interleave=0.0)
    off = ids(kb, learning=False)
    assert ids(kb, learning=False, learning_interleave=1.0) == off  # no A: no interleaving
    assert recorded(kb) == {}
    assert [x[0] for x in learned] != off  # learning did move something meanwhile
