"""Content changes are audited (issue 9, point 10): documents, replies, rules and vocabulary, each
with the actor who made it, on SQLite and PostgreSQL. What changes nothing records nothing: an
unchanged re-ingest, a failed ingest, a rejected file, a form saved as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from library_files import BROKEN_RULES, RULES, replies
from typer.testing import CliRunner

from kb.accounts.audit import list_audit
from kb.audit import SYSTEM_ACTOR
from kb.cli import app as cli
from kb.context import KnowledgeBase
from kb.documents.catalog import MetadataEdit, delete_document, update_metadata
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.jobs import shutdown_jobs, start_ingest_job, wait_for_job
from kb.documents.rollback import undo_versions
from kb.errors import Invalid
from kb.library.replies import make_reply
from kb.library.store import delete_reply, import_replies, import_rules, save_reply
from kb.retrieval.vocabulary import MAX_VOCABULARY_CHARS, Vocabulary, save_vocabulary
from kb.settings import Settings

MANAGER = "user:km@assistkb.test"
CRM = "key:akb_crm1"
POLICY_V1 = "年假政策\n\n员工每年享有十天带薪年假。\n".encode()
POLICY_V2 = "年假政策\n\n员工每年享有十五天带薪年假。\n".encode()


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return make_db_kb()


def trail(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(actor, action, target) of every entry, oldest first."""
    return [(e.actor, e.action, e.target) for e in reversed(list_audit(kb, limit=1000))]


def _ingest(kb: KnowledgeBase, name: str, data: bytes, actor: str, **meta: Any) -> Any:
    item = IngestItem(name, data, DocumentMeta(**meta))
    [result] = ingest_items(kb, [item], collection="hr", actor=actor)
    return result


def test_new_and_replaced_versions_are_audited_unchanged_and_failed_files_are_not(
    kb: KnowledgeBase,
) -> None:
    first = _ingest(kb, "policy.md", POLICY_V1, MANAGER)
    assert _ingest(kb, "policy.md", POLICY_V1, CRM).status == "unchanged"
    assert _ingest(kb, "setup.exe", b"MZ\x90\x00binary", CRM).status == "failed"
    second = _ingest(kb, "policy.md", POLICY_V2, CRM)
    assert (first.status, second.status, second.version) == ("ingested", "ingested", 2)

    doc = first.document_id
    assert trail(kb) == [(MANAGER, "document.ingest", doc), (CRM, "document.ingest", doc)]
    details = [e.detail for e in reversed(list_audit(kb))]
    assert details == [
        {"filename": "policy.md", "collection": "hr", "version": 1},
        {"filename": "policy.md", "collection": "hr", "version": 2},
    ]


def test_an_upload_that_only_changes_metadata_is_an_update(kb: KnowledgeBase) -> None:
    doc = _ingest(kb, "policy.md", POLICY_V1, MANAGER).document_id
    assert _ingest(kb, "policy.md", POLICY_V1, CRM, tags=("hr",)).metadata_changed
    assert trail(kb)[1:] == [(CRM, "document.update", doc)]


def test_metadata_edits_and_deletes_are_audited_with_what_changed(kb: KnowledgeBase) -> None:
    doc = _ingest(kb, "policy.md", POLICY_V1, "cli").document_id
    edit = MetadataEdit(title="年假（2026）", tags=["hr", "假期"])
    update_metadata(kb, doc, edit, actor=MANAGER)
    update_metadata(kb, doc, edit, actor=MANAGER)  # saved as it was: no change, no entry
    delete_document(kb, doc, actor=CRM)

    assert trail(kb) == [
        ("cli", "document.ingest", doc),
        (MANAGER, "document.update", doc),
        (CRM, "document.delete", doc),
    ]
    deleted, updated = list_audit(kb, limit=2)
    assert updated.detail == {"filename": "policy.md", "fields": ["tags", "title"]}
    assert deleted.detail == {"filename": "policy.md", "title": "年假（2026）", "collection": "hr"}


def test_a_background_job_ingests_as_whoever_started_it(kb: KnowledgeBase) -> None:
    items = [IngestItem("policy.md", POLICY_V1), IngestItem("empty.txt", b"")]
    try:
        job = wait_for_job(kb, start_ingest_job(kb, items, "hr", actor=MANAGER))
    finally:
        shutdown_jobs(kb)
    assert [r.status for r in job.results] == ["ingested", "failed"]
    assert trail(kb) == [(MANAGER, "document.ingest", job.results[0].document_id)]


def test_a_version_undone_after_a_failed_index_build_says_so(kb: KnowledgeBase) -> None:
    doc = _ingest(kb, "policy.md", POLICY_V1, MANAGER).document_id
    _ingest(kb, "policy.md", POLICY_V2, MANAGER)
    undo_versions(kb, [(doc, 2)], actor=MANAGER)  # as ingest_items does when the build fails
    undone = list_audit(kb, limit=1)[0]
    assert (undone.actor, undone.action, undone.target) == (MANAGER, "document.ingest_undone", doc)
    assert undone.detail == {"version": 2, "reason": "index build failed"}


def test_reply_changes_are_audited(kb: KnowledgeBase) -> None:
    with pytest.raises(Invalid):
        import_replies(kb, replies("thanks") + "\n  - id: Bad Id\n", "broken.yaml", actor=CRM)
    assert import_replies(kb, replies("thanks", "return-en"), "replies.yaml", actor=MANAGER)
    new = make_reply(id="welcome", title="欢迎", body="您好，很高兴为您服务。")
    save_reply(kb, new, actor=MANAGER)
    save_reply(kb, make_reply(id="welcome", title="欢迎语", body=new.body), actor=CRM)
    assert delete_reply(kb, "welcome", actor=CRM)
    assert not delete_reply(kb, "welcome", actor=CRM)  # already gone: nothing to record

    assert trail(kb) == [
        (MANAGER, "reply.import", "replies.yaml"),
        (MANAGER, "reply.create", "welcome"),
        (CRM, "reply.update", "welcome"),
        (CRM, "reply.delete", "welcome"),
    ]
    assert list_audit(kb, action="reply.import")[0].detail == {"ids": ["thanks", "return-en"]}


def test_rule_and_vocabulary_changes_are_audited(kb: KnowledgeBase) -> None:
    import_rules(kb, RULES, "rules.yaml", actor=MANAGER)
    import_rules(kb, RULES, "console", actor=CRM, action="rules.save")
    with pytest.raises(Invalid):
        import_rules(kb, BROKEN_RULES, "rules.yaml", actor=CRM)
    save_vocabulary(kb, Vocabulary(user_dict="年假\n带薪年假", synonyms="年假,休假"), actor=MANAGER)
    save_vocabulary(kb, Vocabulary(user_dict="年假\n带薪年假", synonyms="年假,休假"), actor=CRM)
    with pytest.raises(Invalid):
        save_vocabulary(kb, Vocabulary(user_dict="x" * (MAX_VOCABULARY_CHARS + 1)), actor=CRM)

    assert trail(kb) == [
        (MANAGER, "rules.import", "rules.yaml"),
        (CRM, "rules.save", "console"),
        (MANAGER, "vocabulary.save", "vocabulary"),
    ]
    assert list_audit(kb, action="vocabulary.save")[0].detail == {"words": 2, "synonym_sets": 1}
    assert list_audit(kb, action="rules.save")[0].detail == {"rules": 1}


def test_a_service_called_without_an_actor_records_the_system(kb: KnowledgeBase) -> None:
    import_rules(kb, RULES, "rules.yaml")
    assert trail(kb) == [(SYSTEM_ACTOR, "rules.import", "rules.yaml")]


def test_the_kb_command_records_cli(
    tmp_path: Path, embedding_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(embedding_cache_dir))
    data = str(tmp_path / "data")
    (tmp_path / "policy.md").write_bytes(POLICY_V1)
    (tmp_path / "replies.yaml").write_text(replies("thanks"), "utf-8")
    runner = CliRunner()
    for args in (
        ["ingest", str(tmp_path / "policy.md"), "-c", "hr"],
        ["replies", "import", str(tmp_path / "replies.yaml")],
    ):
        done = runner.invoke(cli, [*args, "--data-dir", data])
        assert done.exit_code == 0, done.output
    kb = KnowledgeBase(Settings(data_dir=Path(data), cache_dir=embedding_cache_dir))
    [doc] = {e.target for e in list_audit(kb, action="document.ingest")}
    done = runner.invoke(cli, ["documents", "delete", doc, "--data-dir", data])
    assert done.exit_code == 0, done.output
    assert trail(kb) == [
        ("cli", "document.ingest", doc),
        ("cli", "reply.import", "replies.yaml"),
        ("cli", "document.delete", doc),
    ]
