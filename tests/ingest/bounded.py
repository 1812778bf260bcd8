"""Parse one file in a child process under hard memory and wall-clock bounds.

The bounds are a fence, not a measurement: a parser that blows through them (a zip bomb
inflating, an entity expanding, a recursion that never ends) kills only its child, and the
test sees which file did it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEMORY_BOUND = 1 << 30  # 1 GiB of address space for the whole child interpreter
TIME_BOUND = 300.0  # seconds of wall clock for one file (the slowest, 10 MB on one line, ~50 s)

_CHILD = """
import json, sys
from ingest.model import IngestError
from ingest.pipeline import parse_file
path, name, max_chunks = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
try:
    parsed = parse_file(name, data, max_chunks=max_chunks)
except IngestError as exc:
    out = {"error": str(exc), "filename": exc.filename, "reason": exc.reason}
else:
    out = {"format": parsed.format, "title": parsed.title, "warnings": parsed.warnings,
           "chunks": [c.text for c in parsed.chunks],
           "questions": [c.question or "" for c in parsed.chunks]}
json.dump(out, sys.stdout, ensure_ascii=False)
"""


@dataclass(frozen=True)
class Outcome:
    """What the child said: an IngestError's reason, or the parsed file's chunks."""

    error: str | None
    reason: str | None
    format: str | None
    title: str | None
    chunks: list[str]
    questions: list[str]
    warnings: list[str]

    @property
    def all_text(self) -> str:
        return "\n".join([self.title or "", *self.chunks, *self.questions, *self.warnings])


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))


def parse_bounded(path: Path, name: str, *, max_chunks: int = 50_000) -> Outcome:
    """``parse_file(name, path's bytes)`` in a bounded child; fails the test on a crash."""
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), name, str(max_chunks)],
        capture_output=True,
        timeout=TIME_BOUND,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        preexec_fn=_limit_child,
        check=False,
    )
    if run.returncode != 0:
        raise AssertionError(
            f"{name}: the parser crashed (exit {run.returncode}): "
            + run.stderr.decode(errors="replace")[-2000:]
        )
    out = json.loads(run.stdout)
    return Outcome(
        error=out.get("error"),
        reason=out.get("reason"),
        format=out.get("format"),
        title=out.get("title"),
        chunks=out.get("chunks", []),
        questions=out.get("questions", []),
        warnings=out.get("warnings", []),
    )
