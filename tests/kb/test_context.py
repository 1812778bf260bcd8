"""Per-process state lives on each KnowledgeBase: two in one process never see each other's."""

from __future__ import annotations

from collections.abc import Callable

from library_files import CORPUS, FAQ, QUERIES, RULES, replies

from kb.assist.matching import ReplyMatcher
from kb.context import KnowledgeBase, Slot
from kb.documents.ingestion import IngestItem
from kb.documents.jobs import shutdown_jobs, start_ingest_job, wait_for_job
from kb.library.store import active_rules, import_replies, import_rules
from kb.retrieval.evaluation_runs import evaluation_runs, start_run

_COUNTER: Slot[list[str]] = Slot("tests.counter", lambda kb: [kb.settings.data_dir.name])


def test_a_slot_is_made_once_per_knowledge_base(make_kb: Callable[..., KnowledgeBase]) -> None:
    first, second = make_kb(), make_kb()
    mine = first.state(_COUNTER)
    assert first.state(_COUNTER) is mine
    assert second.state(_COUNTER) is not mine
    assert mine == [first.settings.data_dir.name]
    first.replace_state(_COUNTER, ["fresh"])
    assert first.state(_COUNTER) == ["fresh"] and second.state(_COUNTER) is not mine
    assert first.drop_state(_COUNTER) == ["fresh"]
    assert first.drop_state(_COUNTER) is None


def test_rules_and_replies_stay_with_their_knowledge_base(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    first, second = make_db_kb(), make_db_kb()
    # Each database numbers its first rule set 1: the parsed rules must not be shared by id.
    import_rules(first, RULES, "rules.yaml")
    import_rules(second, RULES.replace("id: complaint", "id: grievance"), "rules.yaml")
    assert [r.id for r in active_rules(first)] == ["complaint"]
    assert [r.id for r in active_rules(second)] == ["grievance"]

    import_replies(first, replies("shipping-info"), "replies.yaml")
    import_replies(second, replies("thanks", "return-en"), "replies.yaml")
    assert [r.id for r in ReplyMatcher.for_kb(first).replies] == ["shipping-info"]
    assert [r.id for r in ReplyMatcher.for_kb(second).replies] == ["return-en", "thanks"]
    assert ReplyMatcher.for_kb(first) is ReplyMatcher.for_kb(first)  # cached until replies change


def test_job_runners_are_per_knowledge_base(make_kb: Callable[..., KnowledgeBase]) -> None:
    first, second = make_kb(), make_kb()
    done = wait_for_job(second, start_ingest_job(second, [IngestItem("faq.csv", FAQ)], "default"))
    assert done.status == "done"
    shutdown_jobs(second)  # stops the second's executor only
    job = wait_for_job(first, start_ingest_job(first, [IngestItem("faq.csv", FAQ)], "default"))
    assert job.status == "done"
    shutdown_jobs(first)


def test_evaluation_runs_are_per_knowledge_base(make_kb: Callable[..., KnowledgeBase]) -> None:
    first, second = make_kb(), make_kb()
    run = start_run(first, CORPUS, "corpus.jsonl", QUERIES, "queries.jsonl")
    assert run.finished.wait(timeout=120) and run.status == "done", run.error
    assert [r.id for r in evaluation_runs(first).recent()] == [run.id]
    assert evaluation_runs(second).recent() == []


def test_an_injected_embedder_answers_every_query_through_one_encoder(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    made = make_kb()
    kb = KnowledgeBase(made.settings.model_copy(), embedder=made.encoder)
    try:
        assert kb.encoder is made.encoder  # an encoder is taken as it is: no memo over a memo
        assert kb.embedder.embed_queries(["退款"]).shape == (1, made.encoder.dim)
    finally:
        kb.close()
