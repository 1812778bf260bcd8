"""Evaluation runs in the background: a golden set checked, measured, its progress and results.

Runs live in memory, per knowledge base: a run is minutes at most and its result is also what
`kb eval` prints, so nothing is stored. One run at a time, since it keeps the CPU busy.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kb.context import KnowledgeBase, Slot
from kb.errors import Conflict, Invalid, KBError, NotFound
from kb.models import new_id, utcnow
from kb.retrieval.evaluation import evaluate
from kb.retrieval.searching import Mode
from kb.retrieval.vocabulary import Vocabulary, edited_vocabulary
from kb.settings import Settings
from search.embedders.base import Embedder

log = logging.getLogger(__name__)

MODES: tuple[Mode, ...] = ("hybrid", "bm25")
METRICS = (
    ("recall@1", "Recall@1"),
    ("recall@5", "Recall@5"),
    ("recall@10", "Recall@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("p50_ms", "p50（ms）"),
    ("p95_ms", "p95（ms）"),
)
_KEEP = 5


@dataclass(frozen=True)
class GoldenSet:
    passages: int
    queries: int
    unknown_relevant: int  # relevant ids that name no passage of the corpus


def _records(data: bytes, name: str, field: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid(f"{name} line {line}: not UTF-8 text", field=field) from exc
    out = []
    for number, row in enumerate(text.splitlines(), start=1):
        if not row.strip():
            continue
        try:
            record = json.loads(row)
        except json.JSONDecodeError as exc:
            raise Invalid(f"{name} line {number}: invalid JSON ({exc.msg})", field=field) from exc
        if not isinstance(record, dict):
            raise Invalid(f"{name} line {number}: expected a JSON object", field=field)
        out.append((number, record))
    if not out:
        raise Invalid(f"{name} is empty", field=field)
    return out


def _text(record: dict[str, Any], key: str, where: str, field: str) -> str:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{where}: '{key}' must be non-empty text", field=field)
    return value


def check_golden(corpus: bytes, corpus_name: str, queries: bytes, queries_name: str) -> GoldenSet:
    """Validate both files in the DESIGN.md format; an error names the file and the line."""
    ids: dict[str, int] = {}
    for number, record in _records(corpus, corpus_name, "corpus"):
        where = f"{corpus_name} line {number}"
        passage_id = _text(record, "id", where, "corpus")
        _text(record, "text", where, "corpus")
        if passage_id in ids:
            message = f"{where}: id '{passage_id}' is used twice (first at line {ids[passage_id]})"
            raise Invalid(message, field="corpus")
        ids[passage_id] = number
    unknown = 0
    rows = _records(queries, queries_name, "queries")
    for number, record in rows:
        where = f"{queries_name} line {number}"
        _text(record, "id", where, "queries")
        _text(record, "query", where, "queries")
        relevant = record.get("relevant_ids")
        if not isinstance(relevant, list) or not relevant:
            raise Invalid(f"{where}: 'relevant_ids' must be a non-empty list", field="queries")
        unknown += sum(str(r) not in ids for r in relevant)
    return GoldenSet(len(ids), len(rows), unknown)


@dataclass
class EvaluationRun:
    id: str
    corpus_name: str
    queries_name: str
    golden: GoldenSet
    status: str = "queued"  # queued | indexing | querying | done | failed
    indexed: int = 0
    to_index: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    # The collections its starter may read (None: all): a run is seen only by people who may
    # read at least as much, so one team's golden set and results stay that team's.
    limited_to: frozenset[str] | None = None

    def visible_to(self, readable: frozenset[str] | None) -> bool:
        """Whether a caller who may read ``readable`` (None: everything) sees this run."""
        if readable is None:
            return True
        return self.limited_to is not None and self.limited_to <= readable

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    @property
    def percent(self) -> int:
        if self.done:
            return 100
        if self.status == "querying":
            return 90
        return int(80 * self.indexed / self.to_index) if self.to_index else 0

    def rows(self) -> list[dict[str, Any]]:
        """Metric rows: each mode's value side by side, for the results table."""
        if self.result is None:
            return []
        runs = {MODES[0]: self.result, **self.result.get("baselines", {})}
        rows = []
        for key, label in METRICS:
            values = [runs[m].get(key) for m in MODES]
            known = [v for v in values if v is not None]
            # The better value is marked: lower for latency, higher for quality; none on a tie.
            best = (min if key.endswith("_ms") else max)(known) if len(set(known)) > 1 else None
            rows.append({"key": key, "label": label, "values": values, "best": best})
        return rows


class EvaluationRuns:
    """The runs of one knowledge base in this process, newest first; each works in a thread."""

    def __init__(self) -> None:
        self._runs: dict[str, EvaluationRun] = {}
        self._lock = threading.Lock()

    def start(
        self,
        settings: Settings,
        corpus: bytes,
        corpus_name: str,
        queries: bytes,
        queries_name: str,
        vocabulary: Vocabulary | None = None,
        limited_to: frozenset[str] | None = None,
        embedder: Embedder | None = None,
    ) -> EvaluationRun:
        """Check the golden set, then run it in the background; one run at a time (Conflict).

        ``embedder`` is the running knowledge base's, so a run loads no second model."""
        golden = check_golden(corpus, corpus_name, queries, queries_name)
        with self._lock:
            busy = next((r for r in self._runs.values() if not r.done), None)
            if busy is not None:
                raise Conflict(f"evaluation {busy.id} is still running", field="corpus")
            run = EvaluationRun(new_id(), corpus_name, queries_name, golden, limited_to=limited_to)
            self._runs = {run.id: run, **dict(list(self._runs.items())[: _KEEP - 1])}
        # Uploaded names never touch the file system: the files get fixed names in a fresh dir.
        folder = Path(tempfile.mkdtemp(prefix="kb-golden-"))
        (folder / "corpus.jsonl").write_bytes(corpus)
        (folder / "queries.jsonl").write_bytes(queries)
        thread = threading.Thread(
            target=self._run,
            args=(run, settings, folder, vocabulary, embedder),
            name=f"kb-eval-{run.id}",
            daemon=True,
        )
        thread.start()
        return run

    def _run(
        self,
        run: EvaluationRun,
        settings: Settings,
        folder: Path,
        vocabulary: Vocabulary | None,
        embedder: Embedder | None,
    ) -> None:
        def on_index(done: int, total: int) -> None:
            run.status, run.indexed, run.to_index = "indexing", done, total
            if total and done >= total:
                run.status = "querying"

        run.status = "indexing"
        try:
            run.result = evaluate(
                settings,
                folder / "corpus.jsonl",
                folder / "queries.jsonl",
                modes=MODES,
                on_index=on_index,
                vocabulary=vocabulary,
                embedder=embedder,
            )
            run.status = "done"
        except KBError as exc:
            run.status, run.error = "failed", exc.message
        except Exception:
            log.exception("evaluation %s failed", run.id)
            run.status, run.error = "failed", "internal error; the server log has details"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            run.finished_at = utcnow()
            run.finished.set()

    def get(self, run_id: str, readable: frozenset[str] | None = None) -> EvaluationRun:
        """The run, if a caller who may read ``readable`` sees it (else 404, like no run)."""
        run = self._runs.get(run_id)
        if run is None or not run.visible_to(readable):
            raise NotFound(f"no evaluation run with id {run_id!r}", field="run_id")
        return run

    def recent(self, readable: frozenset[str] | None = None) -> list[EvaluationRun]:
        return [run for run in self._runs.values() if run.visible_to(readable)]


_RUNS: Slot[EvaluationRuns] = Slot("retrieval.evaluation_runs", lambda kb: EvaluationRuns())


def evaluation_runs(kb: KnowledgeBase) -> EvaluationRuns:
    """The evaluation runs of ``kb`` in this process."""
    return kb.state(_RUNS)


def start_run(
    kb: KnowledgeBase,
    corpus: bytes,
    corpus_name: str,
    queries: bytes,
    queries_name: str,
    *,
    limited_to: frozenset[str] | None = None,
) -> EvaluationRun:
    """Measure an uploaded golden set with the knowledge base's own vocabulary, as its searches;
    ``limited_to`` is what its starter may read (``Principal.readable_collections``)."""
    runs = evaluation_runs(kb)
    return runs.start(
        kb.settings, corpus, corpus_name, queries, queries_name,
        vocabulary=edited_vocabulary(kb), limited_to=limited_to, embedder=kb.embedder,
    )  # fmt: skip
