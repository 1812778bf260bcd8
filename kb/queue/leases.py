"""Which jobs a live process on this host is running: each holds an ``flock`` on its lease file.

The operating system drops the lock when the process dies, however it dies (SIGKILL included),
so a running job whose lock nobody holds is known dead at once, without waiting for its lease
column (``kb.queue.claims``) to run out; the column is what tells another host's processes.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from kb.context import KnowledgeBase


def _lease_path(kb: KnowledgeBase, job_id: str) -> Path:
    folder = kb.settings.index_dir / ".locks" / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.lock"


def take_lease(kb: KnowledgeBase, job_id: str) -> IO[bytes]:
    """Hold ``job_id``'s lease until :func:`release_lease` (or this process's death)."""
    handle = open(_lease_path(kb, job_id), "a+b")  # noqa: SIM115 - held across threads
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh job id: nobody else holds it
    return handle


def release_lease(kb: KnowledgeBase, job_id: str, handle: IO[bytes]) -> None:
    """The job ended: drop its lease file and the lock."""
    drop_dead_lease(kb, job_id)
    handle.close()


def lease_held(kb: KnowledgeBase, job_id: str) -> bool:
    """True while a live process runs (or has queued) ``job_id``."""
    try:
        handle = open(_lease_path(kb, job_id), "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def drop_dead_lease(kb: KnowledgeBase, job_id: str) -> None:
    """Remove the lease file of a job no process holds (it was marked failed)."""
    _lease_path(kb, job_id).unlink(missing_ok=True)
