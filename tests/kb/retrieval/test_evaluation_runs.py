"""Evaluation runs: golden sets checked line by line, then measured in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from library_files import CORPUS, GOLDEN_ERRORS, QUERIES

from kb.context import KnowledgeBase
from kb.errors import Invalid, NotFound
from kb.retrieval.evaluation_runs import METRICS, MODES, check_golden, evaluation_runs, start_run
from kb.settings import Settings
from search.embedders import Embedder, make_embedder


def test_golden_set_counts_relevant_ids_missing_from_the_corpus() -> None:
    golden = check_golden(CORPUS, "corpus.jsonl", QUERIES, "queries.jsonl")
    assert (golden.passages, golden.queries, golden.unknown_relevant) == (4, 3, 1)


@pytest.mark.parametrize(("corpus", "queries", "field", "message"), GOLDEN_ERRORS)
def test_golden_set_errors_name_the_file_line_and_field(
    corpus: bytes, queries: bytes, field: str, message: str
) -> None:
    with pytest.raises(Invalid) as err:
        check_golden(corpus, "corpus.jsonl", queries, "queries.jsonl")
    assert err.value.field == field
    assert message in err.value.message


def test_a_run_measures_both_modes_in_the_background(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    run = start_run(kb, CORPUS, "my corpus.jsonl", QUERIES, "q.jsonl")
    assert evaluation_runs(kb).get(run.id) is run
    assert run.finished.wait(timeout=120)
    assert (run.status, run.error, run.percent) == ("done", None, 100)
    assert run.result and run.result["queries"] == 3 and "bm25" in run.result["baselines"]
    rows = run.rows()
    assert [row["key"] for row in rows] == [key for key, _ in METRICS]
    assert all(len(row["values"]) == len(MODES) for row in rows)
    recall = next(row for row in rows if row["key"] == "recall@10")
    assert all(0.0 <= v <= 1.0 for v in recall["values"])
    assert [r.id for r in evaluation_runs(kb).recent()] == [run.id]


def test_an_unknown_run_is_not_found(make_kb: Callable[..., KnowledgeBase]) -> None:
    with pytest.raises(NotFound):
        evaluation_runs(make_kb()).get("nope")


class Counting:
    """The real e5 embedder, counting the queries it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.queries: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.queries += texts
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_a_run_embeds_with_the_running_knowledge_base_s_embedder(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    """No second model: the run's scratch knowledge base is given the running one's encoder."""
    counting = Counting(make_embedder("e5-small"))
    kb = KnowledgeBase(
        Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir), embedder=counting
    )
    try:
        run = start_run(kb, CORPUS, "corpus.jsonl", QUERIES, "q.jsonl")
        assert run.finished.wait(timeout=120)
        assert (run.status, run.error) == ("done", None)
        assert len(set(counting.queries)) == 3  # each golden query, embedded once, here
    finally:
        kb.close()


def test_with_workers_a_run_is_a_queued_job_a_worker_measures(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    import threading

    from kb.errors import Conflict
    from kb.queue.claims import claim, worker_name
    from kb.retrieval.evaluation_jobs import begin_run, find_run, recent_runs, run_evaluation_job

    kb = make_db_kb(workers="external")
    run = begin_run(kb, CORPUS, "my corpus.jsonl", QUERIES, "q.jsonl", limited_to=frozenset({"hr"}))
    assert (run.status, run.done, run.golden.passages) == ("queued", False, 4)
    assert evaluation_runs(kb).recent() == []  # nothing runs in this process
    with pytest.raises(Conflict):  # one at a time, across processes
        begin_run(kb, CORPUS, "c.jsonl", QUERIES, "q.jsonl")

    owner = worker_name("test")
    job = claim(kb, owner, ["evaluation"])
    assert job is not None and job.id == run.id
    assert run_evaluation_job(kb, job, owner, threading.Event()) == "done"

    measured = find_run(kb, run.id, frozenset({"hr", "manuals"}))
    assert (measured.status, measured.percent, measured.error) == ("done", 100, None)
    assert measured.corpus_name == "my corpus.jsonl"
    assert measured.result and measured.result["queries"] == 3
    assert [row["key"] for row in measured.rows()] == [key for key, _ in METRICS]
    assert [r.id for r in recent_runs(kb, None)] == [run.id]
    assert recent_runs(kb, frozenset({"manuals"})) == []  # its starter could read hr
    with pytest.raises(NotFound):
        find_run(kb, run.id, frozenset({"manuals"}))
    assert not (kb.settings.data_dir / "jobs" / run.id).exists()
