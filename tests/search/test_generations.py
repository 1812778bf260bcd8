"""The generation catalogue contract: the live pointer, its version, the writer's lease.

Every test runs on both catalogues: the file-and-flock one (one host) and the PostgreSQL one
(``KB_SHARED``: rows and advisory locks, kb/shared_index.py), in this process and in children.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from search.generations import FileGenerationCatalog, GenerationCatalog, superseded

ROOT = Path(__file__).resolve().parents[2]  # the child processes import search/ from here

Factory = Callable[[], GenerationCatalog]


@pytest.fixture(params=["file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Factory, str]]:
    """A factory of catalogues on one store (as separate processes open it), and the Python
    source a child process opens the same one with (as ``catalog``)."""
    if request.param == "file":
        yield (
            lambda: FileGenerationCatalog(tmp_path),
            "from search.generations import FileGenerationCatalog\n"
            f"catalog = FileGenerationCatalog(pathlib.Path({str(tmp_path)!r}))\n",
        )
        return
    from kb.shared_index import PostgresGenerationCatalog

    url: str = request.getfixturevalue("new_postgres_url")()
    engines: list[Engine] = []

    def factory() -> GenerationCatalog:
        engines.append(create_engine(url))
        # poll_seconds=0: every look reads the row, so another catalogue's switch shows at once.
        return PostgresGenerationCatalog(engines[-1], tmp_path, poll_seconds=0)

    yield (
        factory,
        "from sqlalchemy import create_engine\n"
        "from kb.shared_index import PostgresGenerationCatalog\n"
        f"catalog = PostgresGenerationCatalog(create_engine({url!r}), pathlib.Path("
        f"{str(tmp_path)!r}))\n",
    )
    for engine in engines:
        engine.dispose()


@pytest.fixture
def make(opened: tuple[Factory, str]) -> Factory:
    return opened[0]


@pytest.fixture
def child_opens(opened: tuple[Factory, str]) -> str:
    return "import os, sys, signal, pathlib\n" + opened[1]


def test_a_switch_changes_what_is_live_and_its_version(tmp_path: Path, make: Factory) -> None:
    catalog = make()
    assert (catalog.live("kb"), catalog.version("kb"), catalog.collections()) == (None, None, [])
    (tmp_path / "kb").mkdir()
    catalog.switch("kb", "g1")
    first = catalog.version("kb")
    assert (catalog.live("kb"), catalog.collections()) == ("g1", ["kb"])
    assert catalog.version("kb") == first  # nothing switched: the same version
    catalog.switch("kb", "g2")
    assert catalog.live("kb") == "g2" and catalog.version("kb") != first
    assert not [p for p in (tmp_path / "kb").iterdir() if p.name != "CURRENT"]
    other = make()  # another process's catalogue on the same store sees the same
    assert (other.live("kb"), other.version("kb")) == ("g2", catalog.version("kb"))


@pytest.mark.parametrize("name", ["../etc", "a/b", ""])
def test_collection_names_are_never_paths(make: Factory, name: str) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        make().live(name)


def test_the_lease_excludes_other_threads(make: Factory) -> None:
    catalog = make()
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


def test_the_lease_excludes_other_processes(make: Factory, child_opens: str) -> None:
    code = child_opens + (
        "with catalog.lease('kb'):\n    print('held', flush=True)\n    sys.stdin.readline()\n"
    )
    pipe = subprocess.PIPE
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=pipe, stdout=pipe, text=True, cwd=ROOT
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with make().lease("kb", wait=False) as held:
            assert not held
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    with make().lease("kb", wait=False) as held:
        assert held


def test_a_writer_that_lets_go_normally_leaves_nothing_pending(make: Factory) -> None:
    catalog = make()
    with catalog.lease("kb") as held:
        assert held
        assert not catalog.pending("kb")  # a writer at work is not a pending switch
    assert not catalog.pending("kb")


def test_a_writer_that_fails_leaves_a_pending_switch_until_someone_settles(
    make: Factory,
) -> None:
    catalog = make()
    with pytest.raises(OSError), catalog.lease("kb"):
        raise OSError(28, "No space left on device")  # after its commit, before its switch
    assert catalog.pending("kb")
    with catalog.lease("kb"):
        pass  # a lease that does not check the index leaves the mark for one that does
    assert catalog.pending("kb")
    with catalog.lease("kb"):
        catalog.settle("kb")
    assert not catalog.pending("kb")


def test_a_killed_writer_leaves_a_pending_switch(make: Factory, child_opens: str) -> None:
    code = child_opens + "with catalog.lease('kb'):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT).returncode == -9
    catalog = make()
    assert catalog.pending("kb") and not catalog.pending("other")
    with catalog.lease("kb"):
        assert not catalog.pending("kb")  # held now: whoever holds it finishes the work
        catalog.settle("kb")
    assert not catalog.pending("kb")


def test_a_shared_index_keeps_generations_replaced_within_its_grace(tmp_path: Path) -> None:
    made = ["20260101T000000000000-aaaaaa", "20260101T000001000000-bbbbbb"]
    now = datetime.now(UTC)
    made += [f"{now - timedelta(seconds=s):%Y%m%dT%H%M%S%f}-cccccc" for s in (90, 30, 0)]
    for name in [*made, ".staging.tmp"]:
        (tmp_path / name).mkdir()
    # A generation is kept while the one made after it (which replaced it) is young enough.
    assert superseded(tmp_path, 20) == {made[3]}
    assert superseded(tmp_path, 60) == {made[2], made[3]}
    assert superseded(tmp_path, 120) == {made[1], made[2], made[3]}
    assert superseded(tmp_path, 0) == set()  # one machine: only live and previous stay
