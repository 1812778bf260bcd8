"""Writing files so that a crash (a kill, a power cut) leaves the old state or the new one.

A kill alone loses nothing the kernel has accepted; a power cut loses what is not yet on disk,
so a pointer must never reach the disk before the files it names (fsync, then rename, then an
fsync of the folder that holds the rename).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: readers see the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    sync_directory(path.parent)  # the rename itself, so a power cut cannot undo the switch


def sync_tree(folder: Path) -> None:
    """fsync every file under ``folder`` and the folders themselves."""
    for path in folder.rglob("*"):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    for directory in [*(p for p in folder.rglob("*") if p.is_dir()), folder]:
        sync_directory(directory)


def sync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
