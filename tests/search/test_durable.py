"""Crash-safe writes: a pointer is replaced whole, nothing temporary is left behind."""

from __future__ import annotations

from pathlib import Path

from search.durable import sync_tree, write_atomically


def test_write_atomically_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    pointer = tmp_path / "CURRENT"
    write_atomically(pointer, "first\n")
    old_inode = pointer.stat().st_ino
    write_atomically(pointer, "second\n")
    assert pointer.read_text() == "second\n"
    assert pointer.stat().st_ino != old_inode  # a new file renamed over it, never rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]


def test_sync_tree_flushes_nested_files_and_keeps_them(tmp_path: Path) -> None:
    (tmp_path / "bm25").mkdir()
    (tmp_path / "bm25" / "params.json").write_text("{}")
    (tmp_path / "meta.json").write_text("{}")
    sync_tree(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "bm25",
        "bm25/params.json",
        "meta.json",
    ]
