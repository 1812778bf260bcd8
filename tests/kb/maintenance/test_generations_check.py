"""``kb check`` on index generations: each kind of damage to the files, found and repaired.

A repair rebuilds from the database with the vectors in the embedding cache: it embeds nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from checking import COLLECTION, ingested

from kb.context import KnowledgeBase
from kb.maintenance.check import run_check
from kb.retrieval.searching import SearchRequest, search
from search.index import CHUNKS_DIR, CURRENT_FILE, META_FILE, VECTORS_FILE


def _live(kb: KnowledgeBase) -> Path:
    name = kb.index_store.current_generation(COLLECTION)
    assert name is not None
    return kb.index_store.collection_dir(COLLECTION) / name


def pointer_to_a_missing_generation(kb: KnowledgeBase) -> None:
    (_live(kb).parent / CURRENT_FILE).write_text("20991231T000000000000-gone00\n")


def no_pointer(kb: KnowledgeBase) -> None:
    (_live(kb).parent / CURRENT_FILE).unlink()


def truncated_chunk_file(kb: KnowledgeBase) -> None:
    path = _live(kb) / CHUNKS_DIR / "strings.bin"
    path.write_bytes(path.read_bytes()[:40])


def corrupt_vector_file(kb: KnowledgeBase) -> None:
    (_live(kb) / VECTORS_FILE).write_bytes(b"not a faiss index")


def another_embedder(kb: KnowledgeBase) -> None:
    path = _live(kb) / META_FILE
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "embedder_version": "0.0-other"}))


def staging_and_pointer_leftovers(kb: KnowledgeBase) -> None:
    base = _live(kb).parent
    (base / ".20991231T000000000000-dead00.tmp").mkdir()
    (base / ".CURRENT.1a2b3c4d.tmp").write_text("half")


def generation_never_switched_in(kb: KnowledgeBase) -> None:
    live = _live(kb)
    shutil.copytree(live, live.parent / "20991231T000000000000-never0")


CASES = [
    (pointer_to_a_missing_generation, ["generation-missing"]),
    (no_pointer, ["generation-abandoned", "index-missing"]),  # the rebuild replaces it
    (truncated_chunk_file, ["generation-broken"]),
    (corrupt_vector_file, ["generation-broken"]),
    (another_embedder, ["generation-incompatible"]),
    (staging_and_pointer_leftovers, ["staging-leftover", "staging-leftover"]),
    (generation_never_switched_in, ["generation-abandoned"]),
]


@pytest.mark.parametrize(("breakage", "found"), CASES, ids=[c[0].__name__ for c in CASES])
def test_index_damage_is_found_and_repaired_from_the_cache(
    breakage: Callable[[KnowledgeBase], None],
    found: list[str],
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = ingested(make_kb)
    breakage(kb)
    assert sorted(f.kind for f in run_check(kb).findings) == found
    repaired = run_check(kb, repair=True)
    assert all(f.repaired for f in repaired.findings), repaired
    assert repaired.remaining == [] and repaired.ok
    meta = kb.index_store.current_meta(COLLECTION)
    assert meta is not None and meta.embedded == 0  # every vector came from the cache
    leftovers = [p.name for p in _live(kb).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    kb.searchers.invalidate()
    hits = search(kb, SearchRequest("pair the remote lamp blue", collection=COLLECTION, limit=1))
    assert hits and hits[0].chunk.question == "How do I pair the remote?"


def test_a_collection_another_process_writes_is_not_judged(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = ingested(make_kb)
    staging_and_pointer_leftovers(kb)  # as a build in progress has them
    writer = KnowledgeBase(kb.settings)  # another process's lock: a separate flock
    try:
        with writer.collection_lock(COLLECTION):
            report = run_check(kb, repair=True)
            assert [f.kind for f in report.findings] == ["collection-busy"]
            assert not report.ok
    finally:
        writer.close()
    assert len(list(_live(kb).parent.glob(".*.tmp"))) == 2  # nothing of the writer's touched
