"""What backup and maintenance need from a collection's index files, so that they never read them.

``copy_live`` copies the live generation into another index root (a backup's staging folder);
``leftovers`` lists what killed builds left beside the live generation and ``remove_leftover``
deletes one. Callers hold the collection's writer lease (``GenerationCatalog.lease``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from search.generations import FileGenerationCatalog
from search.index import GenerationMeta, IndexStore
from search.segments import referenced

LeftoverKind = Literal["staging", "pointer", "never-switched-in", "older"]


@dataclass(frozen=True)
class Leftover:
    path: Path
    kind: LeftoverKind


def copy_live(store: IndexStore, collection: str, target_root: Path) -> GenerationMeta | None:
    """Copy ``collection``'s live generation under ``target_root`` as its live one there.

    None when it was never built or its generation is gone (``kb serve`` rebuilds it then).
    Generations never change once switched in, so the copy is the generation as it was; a
    delta generation is copied with the segments it serves."""
    name = store.current_generation(collection)
    meta = store.current_meta(collection)
    if name is None or meta is None or meta.generation != name:
        return None
    target = FileGenerationCatalog(target_root)
    source = store.collection_dir(collection)
    for segment in sorted(referenced(source / name)):
        shutil.copytree(source / segment, target.collection_dir(collection) / segment)
    target.switch(collection, name)
    return meta


def leftovers(store: IndexStore, collection: str) -> list[Leftover]:
    """Staging folders and half-written pointers of killed builds, and generations that are
    neither the live one nor the one before it (searches in flight may still read that one)
    nor a segment one of those two serves."""
    base = store.collection_dir(collection)
    if not base.is_dir():
        return []
    live = store.current_generation(collection) or ""
    older = [p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
    kept = {live, max((n for n in older if n < live), default="")}
    kept |= set().union(*(referenced(base / name) for name in kept if name))
    found = []
    for entry in sorted(base.iterdir()):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            found.append(Leftover(entry, "staging" if entry.is_dir() else "pointer"))
        elif entry.is_dir() and entry.name not in kept:
            found.append(Leftover(entry, "never-switched-in" if entry.name > live else "older"))
    return found


def remove_leftover(store: IndexStore, path: Path) -> None:
    """Delete one leftover; refuses a path outside the index root."""
    if store.root.resolve() not in path.resolve().parents:
        raise ValueError(f"{path} is not under the index root {store.root}")
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
