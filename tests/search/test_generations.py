"""The file-and-flock generation catalogue: the live pointer, its version, the writer's lease."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from search.generations import FileGenerationCatalog, GenerationCatalog

ROOT = Path(__file__).resolve().parents[2]  # the child processes import search/ from here


def test_a_switch_changes_what_is_live_and_its_version(tmp_path: Path) -> None:
    catalog: GenerationCatalog = FileGenerationCatalog(tmp_path)
    assert (catalog.live("kb"), catalog.version("kb"), catalog.collections()) == (None, None, [])
    (tmp_path / "kb").mkdir()
    catalog.switch("kb", "g1")
    first = catalog.version("kb")
    assert (catalog.live("kb"), catalog.collections()) == ("g1", ["kb"])
    assert catalog.version("kb") == first  # nothing switched: the same version
    catalog.switch("kb", "g2")
    assert catalog.live("kb") == "g2" and catalog.version("kb") != first
    assert not [p for p in (tmp_path / "kb").iterdir() if p.name != "CURRENT"]


@pytest.mark.parametrize("name", ["../etc", "a/b", ""])
def test_collection_names_are_never_paths(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        FileGenerationCatalog(tmp_path).live(name)


def test_the_lease_excludes_other_threads(tmp_path: Path) -> None:
    catalog = FileGenerationCatalog(tmp_path)
    seen: list[bool] = []
    with catalog.lease("kb") as held:
        assert held

        def try_lease() -> None:
            with catalog.lease("kb", wait=False) as other:
                seen.append(other)

        thread = threading.Thread(target=try_lease)
        thread.start()
        thread.join()
    assert seen == [False]
    with catalog.lease("kb", wait=False) as again:
        assert again


def test_the_lease_excludes_other_processes(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from search.generations import FileGenerationCatalog\n"
        f"with FileGenerationCatalog(pathlib.Path({str(tmp_path)!r})).lease('kb'):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    pipe = subprocess.PIPE
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=pipe, stdout=pipe, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with FileGenerationCatalog(tmp_path).lease("kb", wait=False) as held:
            assert not held
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    with FileGenerationCatalog(tmp_path).lease("kb", wait=False) as held:
        assert held


def test_a_writer_that_lets_go_normally_leaves_nothing_pending(tmp_path: Path) -> None:
    catalog = FileGenerationCatalog(tmp_path)
    with catalog.lease("kb") as held:
        assert held
        assert not catalog.pending("kb")  # a writer at work is not a pending switch
    assert not catalog.pending("kb")


def test_a_writer_that_fails_leaves_a_pending_switch_until_someone_settles(
    tmp_path: Path,
) -> None:
    catalog = FileGenerationCatalog(tmp_path)
    with pytest.raises(OSError), catalog.lease("kb"):
        raise OSError(28, "No space left on device")  # after its commit, before its switch
    assert catalog.pending("kb")
    with catalog.lease("kb"):
        pass  # a lease that does not check the index leaves the mark for one that does
    assert catalog.pending("kb")
    with catalog.lease("kb"):
        catalog.settle("kb")
    assert not catalog.pending("kb")


def test_a_killed_writer_leaves_a_pending_switch(tmp_path: Path) -> None:
    code = (
        "import os, signal, pathlib\n"
        "from search.generations import FileGenerationCatalog\n"
        f"with FileGenerationCatalog(pathlib.Path({str(tmp_path)!r})).lease('kb'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT).returncode == -9
    catalog = FileGenerationCatalog(tmp_path)
    assert catalog.pending("kb") and not catalog.pending("other")
    with catalog.lease("kb"):
        assert not catalog.pending("kb")  # held now: whoever holds it finishes the work
        catalog.settle("kb")
    assert not catalog.pending("kb")
