"""Parse untrusted files in separate processes held to a memory and a time limit.

A decompression bomb (a PDF stream, an Office part, markup that multiplies into objects) costs
the parser, not the process that serves searches: each file is parsed by a worker process whose
address space the kernel caps (RLIMIT_AS) and whose processor time it caps per file
(RLIMIT_CPU), and which this side kills when the file's wall-clock time runs out. A file over
either limit fails alone, with a reason naming the limit; the worker is replaced.

Workers are started with ``subprocess`` (fork and exec at once, safe beside the threads of
FAISS, torch and the web server), import each parser once and then take file after file, so a
small file costs one round trip through a pipe (about a millisecond), not a process start.
Answers come back as JSON, never pickles: a parser subverted by a crafted file can fail its own
file, not run code in the server. What comes back is bounded too: the child keeps the chunk
limit, and an answer larger than four times the largest accepted file is refused unread.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ingest._fence_worker import HEADER
from ingest.model import Chunk, IngestError, ParsedFile

log = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 1024
DEFAULT_SECONDS = 120.0
WORKERS = 2  # parses at once per process; beyond that, callers wait their turn
OUTPUT_FACTOR = 4  # an answer may be this many times the largest accepted file
_IDLE_SECONDS = 300.0  # a worker with nothing to do leaves after this long...
_REUSE_SECONDS = 240.0  # ...so the pool never hands out one that has waited this long
_SAMPLE_SECONDS = 0.1  # how often a busy worker's memory is read while waiting for it
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class ParseLimits:
    """What one file's parse may use: ``memory_mb`` (10^6 bytes) and ``seconds`` of time."""

    memory_mb: int = DEFAULT_MEMORY_MB
    seconds: float = DEFAULT_SECONDS

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1_000_000

    def memory_reason(self) -> str:
        return (
            f"parsing needed more than {self.memory_mb:,} MB of memory: refusing a possible "
            "decompression bomb (a genuine file this large can be split into smaller ones)"
        )

    def time_reason(self) -> str:
        return (
            f"parsing took longer than {self.seconds:g} s: refusing a possible decompression "
            "bomb (a genuine file this large can be split into smaller ones)"
        )


class _Died(Exception):
    """The worker closed its answer pipe: it was killed or crashed."""


class _OutOfTime(Exception):
    """The file's wall-clock time ran out."""


class _Worker:
    """One parser process and what this side knows about it."""

    def __init__(self, limits: ParseLimits) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        path = os.environ.get("PYTHONPATH")
        env = {
            **os.environ,
            "PYTHONPATH": package_root + (os.pathsep + path if path else ""),
            "MALLOC_ARENA_MAX": "2",
            **dict.fromkeys(_THREAD_ENV, "1"),  # one parse, one thread: no pools reserving memory
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ingest._fence_worker",
                str(limits.memory_bytes),
                str(_IDLE_SECONDS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin.fileno()
        self._stdout = self.process.stdout.fileno()
        self.last_used = time.monotonic()
        self.peak = 0  # the largest address space seen (VmPeak), bytes

    def send(self, payload: bytes) -> None:
        view = memoryview(HEADER.pack(len(payload)) + payload)
        while view:
            view = view[os.write(self._stdin, view) :]

    def receive(self, deadline: float, most: int) -> bytes | int:
        """The next answer, or its announced size when that is over ``most`` bytes."""
        size: int = HEADER.unpack(self._read(HEADER.size, deadline))[0]
        return size if size > most else self._read(size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _OutOfTime
            ready = select.select([self._stdout], [], [], min(left, _SAMPLE_SECONDS))[0]
            self.sample()
            if not ready:
                continue
            part = os.read(self._stdout, min(size, 1 << 20))
            if not part:
                raise _Died
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def sample(self) -> None:
        """Note the worker's peak address space (what RLIMIT_AS holds), from /proc."""
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmPeak:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
                        return
        except OSError:  # already gone
            pass

    def close(self) -> int:
        """Stop the process (if it still runs) and reap it; its exit status."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        return code


class ParserPool:
    """Up to ``WORKERS`` parser processes, started on demand, each parsing one file at a time."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._slots = threading.BoundedSemaphore(WORKERS)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._guard = threading.Lock()

    def parse(
        self, filename: str, data: bytes, *, max_bytes: int, max_chars: int, max_chunks: int
    ) -> ParsedFile:
        """``parse_file`` in a worker; raises ``IngestError`` as it does, or for a broken limit."""
        request = pickle.dumps(
            {
                "filename": filename,
                "data": data,
                "max_bytes": max_bytes,
                "max_chars": max_chars,
                "max_chunks": max_chunks,
                "seconds": self.limits.seconds,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        most = OUTPUT_FACTOR * max_bytes
        with self._slots:
            worker = self._take()
            keep = False
            try:
                answer = self._ask(worker, request, most)
                if answer[0] == "unsent":  # it died while idle (killed from outside): once more
                    self._give_back(worker, keep=False)
                    worker = self._take()
                    answer = self._ask(worker, request, most)
                keep = worker.peak <= self.limits.memory_bytes // 2
                if answer[0] == "parsed" and isinstance(answer[1], ParsedFile):
                    return answer[1]
                if answer[0] == "refused" and isinstance(answer[1], str):
                    if worker.peak < self.limits.memory_bytes * 9 // 10:
                        raise IngestError(filename, answer[1])
                    # A C parser (lexbor, zlib) out of memory reports a damaged file instead.
                    answer = ("memory",)
                keep = False
                reason = self._failure(worker, answer, most)
                log.warning("parsing %s was stopped: %s", filename, reason)
                raise IngestError(filename, reason)
            finally:
                self._give_back(worker, keep)

    def close(self) -> None:
        """Stop every worker, busy or idle (at exit; a busy caller then sees its file fail)."""
        with self._guard:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.close()

    def _ask(self, worker: _Worker, request: bytes, most: int) -> tuple[object, ...]:
        try:
            worker.send(request)
        except BrokenPipeError:
            return ("unsent",)
        deadline = time.monotonic() + self.limits.seconds
        try:
            answer = worker.receive(deadline, most)
        except _OutOfTime:
            return ("time",)
        except _Died:
            return ("died",)
        if isinstance(answer, int):
            return ("too-large", answer)
        try:
            return _decode(json.loads(answer))
        except ValueError:
            return ("garbled",)

    def _failure(self, worker: _Worker, answer: tuple[object, ...], most: int) -> str:
        """The reason for an answer that is no parse: a broken limit, or a crash."""
        kind = answer[0]
        code = worker.close()
        if kind == "memory":
            return self.limits.memory_reason()
        if kind == "time" or code == -signal.SIGXCPU:
            return self.limits.time_reason()
        if kind == "garbled":
            return "the parser's answer could not be read"
        if kind == "too-large":
            return (
                f"the parsed text is over {most / 1e6:,.1f} MB ({OUTPUT_FACTOR} times the largest "
                "file accepted): split the file into smaller ones"
            )
        # Under RLIMIT_AS, CPython may abort rather than raise MemoryError (an error while
        # raising one); the peak address space says which it was.
        if worker.peak >= self.limits.memory_bytes * 9 // 10:
            return self.limits.memory_reason()
        return f"the parser stopped unexpectedly (exit status {code})"

    def _take(self) -> _Worker:
        stale: list[_Worker] = []
        worker = None
        with self._guard:
            while self._idle:
                candidate = self._idle.pop()
                fresh = time.monotonic() - candidate.last_used < _REUSE_SECONDS
                if fresh and candidate.process.poll() is None:
                    worker = candidate
                    break
                stale.append(candidate)
        for old in stale:
            old.close()
        worker = worker or _Worker(self.limits)
        with self._guard:
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: _Worker, keep: bool) -> None:
        with self._guard:
            self._busy.discard(worker)
            if keep and worker.process.poll() is None:
                worker.last_used = time.monotonic()
                self._idle.append(worker)
                return
        worker.close()  # a worker that grew large or failed is not trusted with the next file


def _decode(answer: object) -> tuple[object, ...]:
    """A worker's JSON answer as ("parsed", ParsedFile), ("refused", reason) or ("memory",)."""
    if not isinstance(answer, list):
        return ("garbled",)
    try:
        if answer[0] == "parsed":
            fields = dict(answer[1])
            fields["chunks"] = [
                Chunk(**{**chunk, "heading_path": tuple(chunk["heading_path"])})
                for chunk in fields["chunks"]
            ]
            return ("parsed", ParsedFile(**fields))
        if answer[0] == "refused":
            return ("refused", str(answer[1]))
        if answer[0] == "memory":
            return ("memory",)
    except (IndexError, KeyError, TypeError, ValueError):
        pass
    return ("garbled",)


_POOLS: dict[ParseLimits, ParserPool] = {}
_POOLS_GUARD = threading.Lock()


def parser_pool(limits: ParseLimits) -> ParserPool:
    """The process's pool for ``limits`` (pools are shared: workers are a per-process resource)."""
    with _POOLS_GUARD:
        if not _POOLS:
            atexit.register(_close_pools)
        pool = _POOLS.get(limits)
        if pool is None:
            pool = _POOLS[limits] = ParserPool(limits)
        return pool


def _close_pools() -> None:
    with _POOLS_GUARD:
        pools = list(_POOLS.values())
    for pool in pools:
        pool.close()
