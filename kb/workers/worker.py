"""The worker loop: claim a job of the given kinds, run it, repeat; stop gracefully when asked.

Health and metrics go to a status file (JSON, rewritten every ``beat`` seconds, also mid-job):
a supervisor tells a hung or dead worker by its ``updated_at``, and ``kb worker status`` reads
every worker's file. A file, not a port: a worker then needs no address of its own, which
several workers on one host would otherwise have to share out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.context import KnowledgeBase
from kb.documents.backfill import fill_missing, waiting_collections
from kb.documents.reasons import (
    JOB_INTERRUPTED,
    JOB_UNEXPECTED,
    UNKNOWN_JOB_ERROR,
    job_error_text,
)
from kb.errors import Invalid, Message
from kb.models import IngestJob, utcnow
from kb.queue.claims import Wakeup, claim, finish, queue_depth, worker_name
from kb.queue.payloads import drop_inputs
from kb.workers.handlers import HANDLERS

log = logging.getLogger(__name__)


@dataclass
class WorkerStatus:
    """What the status file says: health (state, updated_at) and metrics since start."""

    name: str
    pid: int
    kinds: list[str]
    state: str = "starting"  # starting | embedding | idle | running | stopping | stopped
    started_at: str = field(default_factory=lambda: utcnow().isoformat())
    updated_at: str = ""
    current_job: str | None = None
    jobs_done: int = 0
    jobs_failed: int = 0
    jobs_released: int = 0  # given back to the queue by a graceful stop
    queue_depth: int = 0  # jobs of its kinds waiting for a worker
    embedded_chunks: int = 0  # embedded by its jobs (the rest came from the cache)
    embedding_seconds: float = 0.0  # building the index generations of its jobs
    embedding_rate: float = 0.0  # embedded_chunks / embedding_seconds


def status_dir(kb: KnowledgeBase) -> Path:
    return kb.settings.data_dir / "workers"


def check_kinds(kinds: list[str]) -> list[str]:
    """The kinds a worker can take; an unknown one is Invalid, naming what there is."""
    unknown = [k for k in kinds if k not in HANDLERS]
    if unknown or not kinds:
        raise Invalid(
            "unknown job kinds {value}; a worker takes {kinds}",
            field="kinds",
            value=", ".join(unknown) or "(none)",
            kinds=", ".join(HANDLERS),
        )
    return kinds


class Worker:
    """Takes jobs of ``kinds`` until :meth:`request_stop`; one job at a time."""

    def __init__(
        self,
        kb: KnowledgeBase,
        kinds: list[str],
        *,
        status_file: Path | None = None,
        poll_seconds: float = 2.0,
        grace_seconds: float = 60.0,
        beat_seconds: float = 2.0,
    ) -> None:
        self.kb = kb
        self.kinds = check_kinds(kinds)
        self.owner = worker_name()
        self.status = WorkerStatus(self.owner, os.getpid(), self.kinds)
        self.status_file = status_file or status_dir(kb) / f"{self.owner.replace('/', '-')}.json"
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.beat_seconds = beat_seconds
        self.stopping = threading.Event()  # take no new job
        self.release_now = threading.Event()  # give the running job back to the queue
        self._lock = threading.Lock()

    def request_stop(self) -> None:
        """SIGTERM: finish the running job within the grace period, else release it; a second
        request releases it at once."""
        if self.stopping.is_set():
            self.release_now.set()
            return
        log.info("worker %s stopping (grace %.0f s)", self.owner, self.grace_seconds)
        self.stopping.set()
        timer = threading.Timer(self.grace_seconds, self.release_now.set)
        timer.daemon = True
        timer.start()

    def run(self) -> WorkerStatus:
        """Work until asked to stop; returns the final status."""
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(done,), name="kb-worker-status")
        beat.start()
        wakeup = Wakeup(self.kb)
        try:
            self._fill_missing()
            while not self.stopping.is_set():
                self._set(state="idle", current_job=None)
                try:
                    job = claim(self.kb, self.owner, self.kinds)
                except Exception:  # the database is away: keep the worker, try again later
                    log.exception("worker %s could not claim a job", self.owner)
                    job = None
                if job is None:
                    wakeup.wait(self.poll_seconds, self.stopping)
                    continue
                self._handle(job)
        finally:
            wakeup.close()
            done.set()
            beat.join()
            self._set(state="stopped", current_job=None)
            self._write()
        return self.status

    def _fill_missing(self) -> None:
        """Vectors a failed or killed upload left missing (no job brings them any more)."""
        if "upload" not in self.kinds and "reingest" not in self.kinds:
            return
        try:
            waiting = waiting_collections(self.kb)
        except Exception:  # the database is away: the jobs wait for it too
            log.exception("worker %s could not look for missing vectors", self.owner)
            return
        for collection in waiting:
            self._set(state="embedding", current_job=None)
            before = self.kb.index_store.built_here
            fill_missing(self.kb, collection)
            with self._lock:
                self._count_embedding(before)

    def _handle(self, job: IngestJob) -> None:
        log.info("job %s (%s, attempt %d) taken", job.id, job.kind, job.attempts)
        self._set(state="running", current_job=job.id)
        before = self.kb.index_store.built_here
        try:
            if job.attempts > self.kb.settings.job_attempts:  # it took down every worker it met
                error = job_error_text("interrupted", JOB_INTERRUPTED)
                finish(self.kb, job.id, "failed", error=error)
                drop_inputs(self.kb.settings, job.id)
                outcome = "failed"
            else:
                outcome = HANDLERS[job.kind](self.kb, job, self.owner, self.release_now)
        except BlockingIOError:
            # Its lease ran out but its process on this host is alive (it holds the flock):
            # that process finishes it; this claim lapses.
            log.warning("job %s is still run by a live process; left to it", job.id)
            outcome = "left"
        except Exception as exc:  # a handler's own errors fail the job; anything else, here
            log.exception("job %s: unexpected error", job.id)
            detail = f"{type(exc).__name__}: {exc}"
            error = job_error_text(UNKNOWN_JOB_ERROR, Message(JOB_UNEXPECTED, detail=detail))
            with contextlib.suppress(Exception):  # the database may be what failed
                finish(self.kb, job.id, "failed", error=error)
            outcome = "failed"
        log.info("job %s %s", job.id, outcome)
        with self._lock:
            status = self.status
            if outcome == "done":
                status.jobs_done += 1
            elif outcome == "released":
                status.jobs_released += 1
            elif outcome == "failed":
                status.jobs_failed += 1
            self._count_embedding(before)

    def _count_embedding(self, before: tuple[int, float]) -> None:
        """Add what this process embedded since ``before`` (with the lock held). Its own builds
        only: on a shared index the live generation may be another process's. Vectors a
        killed upload left missing, filled at start, count too: they are this worker's work."""
        after = self.kb.index_store.built_here
        status = self.status
        status.embedded_chunks += after[0] - before[0]
        status.embedding_seconds = round(status.embedding_seconds + after[1] - before[1], 3)
        if status.embedding_seconds:
            status.embedding_rate = round(status.embedded_chunks / status.embedding_seconds, 2)

    def _set(self, **values: object) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self.status, key, value)
            if self.stopping.is_set() and self.status.state == "idle":
                self.status.state = "stopping"

    def _beat(self, done: threading.Event) -> None:
        while True:
            try:
                depth = queue_depth(self.kb, self.kinds)
                self._set(queue_depth=depth)
                self._write()
            except Exception:  # a database hiccup: the file keeps its last word, try again
                log.exception("worker status not written")
            if done.wait(self.beat_seconds):
                return

    def _write(self) -> None:
        with self._lock:
            self.status.updated_at = utcnow().isoformat()
            text = json.dumps(asdict(self.status), indent=2)
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.status_file.with_name(f".{self.status_file.name}.{time.monotonic_ns()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.status_file)


def read_statuses(kb: KnowledgeBase) -> list[dict[str, object]]:
    """Every worker's last status file on this data directory, newest first."""
    found = []
    for path in sorted(status_dir(kb).glob("*.json")):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # being replaced right now, or not ours
            continue
    return sorted(found, key=lambda s: str(s.get("updated_at", "")), reverse=True)
