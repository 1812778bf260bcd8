"""Owners and review intervals of documents, marking them reviewed, the overdue list and the
"due for review" mark on suggested answers and search hits, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from kb.accounts.audit import list_audit
from kb.accounts.users import create_user, disable_user
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.ownership import OwnershipEdit, mark_reviewed, set_ownership
from kb.errors import Invalid, NotFound
from kb.models import Document, DocumentVersion
from kb.retrieval.schemas import SearchBody
from kb.retrieval.searching import search_body

RETURNS = "# 退货政策\n\n签收后七天内可以无理由退货，运费由买家承担。\n"
RETURNS_V2 = "# 退货政策\n\n签收后十五天内可以无理由退货，运费由卖家承担。\n"
WARRANTY = "# 保修政策\n\n整机保修一年，电池保修两年。\n"


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    kb = make_db_kb()
    ingest_items(
        kb,
        [IngestItem("returns.md", RETURNS.encode()), IngestItem("warranty.md", WARRANTY.encode())],
        collection="default",
    )
    ingest_items(kb, [IngestItem("other.md", WARRANTY.encode())], collection="team-b")
    for email, role, collections in [
        ("mia@assistkb.test", "manager", ()),
        ("bo@assistkb.test", "manager", ("team-b",)),
        ("al@assistkb.test", "agent", ()),
        ("ex@assistkb.test", "manager", ()),
    ]:
        create_user(kb, email=email, role=role, password="x" * 12, collections=collections,
                    actor="cli")  # fmt: skip
    disable_user(kb, email="ex@assistkb.test", actor="cli")
    return kb


def doc_id(kb: KnowledgeBase, source_name: str) -> str:
    return next(d.id for d in list_documents(kb) if d.source_name == source_name)


def age(kb: KnowledgeBase, document_id: str, days: int) -> None:
    """Pretend the current version was stored ``days`` ago (the clock's other end is today)."""
    with session_scope(kb.engine) as session:
        for version in session.exec(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        ):
            version.created_at = datetime.now(UTC) - timedelta(days=days)
            session.add(version)


def test_owner_and_interval_are_set_audited_and_cleared(kb: KnowledgeBase) -> None:
    returns = doc_id(kb, "returns.md")
    edit = OwnershipEdit(owner=" Mia@AssistKB.test ", interval_days=30)
    doc = set_ownership(kb, returns, edit, actor="user:boss@assistkb.test")
    assert (doc.owner, doc.review_interval_days, doc.due_for_review) == (
        "mia@assistkb.test",
        30,
        False,
    )
    assert doc.review_due == datetime.now(UTC).date() + timedelta(days=30)
    set_ownership(kb, returns, OwnershipEdit(owner="mia@assistkb.test"), actor="cli")  # no change
    cleared = set_ownership(kb, returns, OwnershipEdit(owner="", interval_days=0), actor="cli")
    assert (cleared.owner, cleared.review_interval_days, cleared.review_due) == (None, None, None)
    entries = list_audit(kb, action="document.ownership")
    assert [(e.actor, e.detail) for e in reversed(entries)] == [
        ("user:boss@assistkb.test",
         {"filename": "returns.md", "owner": "mia@assistkb.test", "review_interval_days": 30}),
        ("cli", {"filename": "returns.md", "owner": None, "review_interval_days": None}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (OwnershipEdit(owner="nobody@assistkb.test"), "owner", "no user nobody@assistkb.test"),
        (OwnershipEdit(owner="al@assistkb.test"), "owner", "an owner is an enabled manager"),
        (OwnershipEdit(owner="ex@assistkb.test"), "owner", "an owner is an enabled manager"),
        (OwnershipEdit(owner="bo@assistkb.test"), "owner", "may not read the collection 'default'"),
        (OwnershipEdit(interval_days=-1), "review_interval_days", "not -1"),
        (OwnershipEdit(interval_days=3651), "review_interval_days", "between 1 and 3650"),
    ],
)
def test_a_bad_owner_or_interval_is_refused_naming_the_field(
    kb: KnowledgeBase, edit: OwnershipEdit, field: str, words: str
) -> None:
    returns = doc_id(kb, "returns.md")
    with pytest.raises(Invalid, match=words) as refused:
        set_ownership(kb, returns, edit, actor="cli")
    assert refused.value.field == field
    assert get_document(kb, returns, with_chunks=False).owner is None
    assert list_audit(kb, action="document.ownership") == []


def test_a_manager_of_the_collection_may_own_its_documents(kb: KnowledgeBase) -> None:
    other = doc_id(kb, "other.md")
    assert (
        set_ownership(kb, other, OwnershipEdit(owner="bo@assistkb.test")).owner
        == "bo@assistkb.test"
    )


def test_unknown_documents_are_404(kb: KnowledgeBase) -> None:
    with pytest.raises(NotFound):
        set_ownership(kb, "nope", OwnershipEdit(interval_days=3))
    with pytest.raises(NotFound):
        mark_reviewed(kb, "nope")


def test_overdue_documents_are_listed_and_review_or_a_new_version_resets_them(
    kb: KnowledgeBase,
) -> None:
    returns, warranty = doc_id(kb, "returns.md"), doc_id(kb, "warranty.md")
    set_ownership(kb, returns, OwnershipEdit(owner="mia@assistkb.test", interval_days=30))
    set_ownership(kb, warranty, OwnershipEdit(interval_days=30))
    age(kb, returns, 40)
    age(kb, warranty, 31)  # due yesterday: overdue
    overdue = list_documents(kb, DocumentQuery(overdue=True))
    assert [d.source_name for d in overdue] == ["returns.md", "warranty.md"]  # longest first
    assert overdue[0].owner == "mia@assistkb.test" and overdue[0].due_for_review
    age(kb, warranty, 30)  # due today: not yet overdue
    assert [d.id for d in list_documents(kb, DocumentQuery(overdue=True))] == [returns]

    reviewed = mark_reviewed(kb, returns, actor="user:mia@assistkb.test")
    assert not reviewed.due_for_review and reviewed.reviewed_at is not None
    assert list_documents(kb, DocumentQuery(overdue=True)) == []
    [entry] = list_audit(kb, action="document.reviewed")
    assert (entry.actor, entry.target, entry.detail["version"]) == (
        "user:mia@assistkb.test", returns, 1,
    )  # fmt: skip

    # Reviewed long ago, then a new version: the clock runs from the new version.
    mark_reviewed(kb, returns, now=datetime.now(UTC) - timedelta(days=90))
    age(kb, returns, 40)
    assert get_document(kb, returns, with_chunks=False).due_for_review
    [result] = ingest_items(
        kb, [IngestItem("returns.md", RETURNS_V2.encode())], collection="default"
    )
    assert result.version == 2
    assert not get_document(kb, returns, with_chunks=False).due_for_review


def test_answers_and_hits_from_overdue_documents_carry_the_mark(kb: KnowledgeBase) -> None:
    returns, warranty = doc_id(kb, "returns.md"), doc_id(kb, "warranty.md")
    set_ownership(kb, returns, OwnershipEdit(interval_days=7))
    set_ownership(kb, warranty, OwnershipEdit(interval_days=7))
    age(kb, returns, 8)
    age(kb, warranty, 3)
    turns = [Turn(role="customer", text="退货运费谁承担？保修多久？")]
    made = suggest(kb, SuggestInput(conversation=turns, limit=5))
    marks = {a.source.document_id: a.due_for_review for a in made.answers}
    assert marks == {returns: True, warranty: False}
    found = search_body(kb, SearchBody(query="退货 保修", collection="default"))
    assert {h.source.document_id: h.due_for_review for h in found.hits} == marks
    # The log keeps what ranking needs, not the mark: the mark is the document's state now.
    mark_reviewed(kb, returns)
    again = suggest(kb, SuggestInput(conversation=turns, limit=5))
    assert not any(a.due_for_review for a in again.answers)


def test_documents_without_an_interval_are_never_due(kb: KnowledgeBase) -> None:
    returns = doc_id(kb, "returns.md")
    age(kb, returns, 5000)
    with session_scope(kb.engine) as session:
        assert session.exec(select(col(Document.review_interval_days))).all() == [None] * 3
    assert not get_document(kb, returns, with_chunks=False).due_for_review
    assert list_documents(kb, DocumentQuery(overdue=True)) == []
