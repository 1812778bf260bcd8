"""A job's input kept in the data directory (``<data_dir>/jobs/<job id>/``), never in memory.

Files get fixed names (their position), so no uploaded name ever becomes a path. The directory
is shared by every process that runs jobs on this data directory, as the index is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from kb.settings import Settings


def _folder(settings: Settings, job_id: str) -> Path:
    if not job_id.isalnum():  # ids are hex: anything else is not ours to touch
        raise ValueError(f"not a job id: {job_id!r}")
    return settings.data_dir / "jobs" / job_id


def store_inputs(settings: Settings, job_id: str, blobs: Sequence[bytes]) -> list[str]:
    """Write each blob durably; returns the names to keep in the job's payload."""
    folder = _folder(settings, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for n, blob in enumerate(blobs):
        name = f"{n}.bin"
        partial = folder / f".{name}.partial"
        with open(partial, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(folder / name)
        names.append(name)
    return names


def read_input(settings: Settings, job_id: str, name: str) -> bytes:
    """The stored blob ``name`` of a job (FileNotFoundError if it is gone)."""
    if "/" in name or name.startswith("."):
        raise ValueError(f"not an input name: {name!r}")
    return (_folder(settings, job_id) / name).read_bytes()


def drop_inputs(settings: Settings, job_id: str) -> None:
    """The job ended for good: its input is no longer needed."""
    shutil.rmtree(_folder(settings, job_id), ignore_errors=True)
