"""A TEST HOOK: named points where a process can be made to stop, so a test can SIGKILL it there.

Never set in production. With ``KB_PAUSE_AT=<point>`` and ``KB_PAUSE_FILE=<path>`` in the
environment, the process that reaches ``<point>`` writes ``<path>`` (its pid, then the point)
and sleeps until it is killed. The crash-safety tests (tests/kb/maintenance/) start ``kb ingest``
or ``kb serve`` as real processes, wait for the file and send a real SIGKILL.

It reads the environment when a point is reached, not through ``Settings``: the points are in
``search/`` too, which knows nothing of ``kb``, and a child process needs no wiring. Unset, a
point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import time
from typing import Literal

PausePoint = Literal[
    "after-parse",  # a file is parsed, nothing of it written yet
    "in-version-transaction",  # half the new version's chunk rows written, not committed
    "after-commit",  # the new versions are committed, the index not rebuilt yet
    "mid-embedding",  # one batch embedded and cached, the rest not embedded
    "generation-staged",  # the new generation's files written under its temporary name
    "merge-staged",  # a merge's main segment written aside, the writer's lease not yet taken
    "before-switch",  # the new generation is in place, CURRENT still names the old one
    "after-switch",  # CURRENT names the new generation, older ones not pruned yet
    "keyword-findable",  # an upload switched in by keyword (phase 1), its vectors not embedded
]
PAUSE_POINTS: tuple[PausePoint, ...] = PausePoint.__args__  # type: ignore[attr-defined]


def pause_requested(point: PausePoint) -> bool:
    """True when the test hook names ``point`` (for a point that needs setting up first)."""
    return os.environ.get("KB_PAUSE_AT") == point


def pause_point(point: PausePoint) -> None:
    """Stop here for good if the test hook names ``point``; otherwise return at once."""
    if not pause_requested(point):
        return
    marker = os.environ.get("KB_PAUSE_FILE")
    if marker:
        # Written whole then renamed: the test never reads half a marker.
        partial = f"{marker}.partial"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {point}\n")
        os.replace(partial, marker)
    while True:  # until the test's SIGKILL
        time.sleep(3600)
