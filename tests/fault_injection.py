"""Real file-system faults for tests: a small tmpfs to fill, a read-only bind mount, and a
PostgreSQL cluster of the test's own that it may stop and start again.

The tests run as root in the CI container (``mount`` needs CAP_SYS_ADMIN); root ignores
permission bits, but not a full or read-only file system.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from served import free_port


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(
            f"mount {' '.join(args)} failed ({done.stderr.strip()}): these tests need root "
            "with CAP_SYS_ADMIN, as in the CI container"
        )


def _umount(path: Path) -> None:
    subprocess.run(["umount", "--lazy", str(path)], check=True, capture_output=True)


@contextmanager
def small_tmpfs(path: Path, size_kb: int) -> Iterator[Path]:
    """``path`` (created) as a tmpfs of ``size_kb`` KiB until the block ends."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` bound read-only onto itself until the block ends (root cannot write it)."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield path
    finally:
        _umount(path)


def fill(directory: Path) -> Path:
    """Write a filler file in ``directory`` until its file system has no byte left."""
    filler = directory / "filler.bin"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as handle:
        for _ in range(1_000_000):  # bounded: the tmpfs is a few MiB
            try:
                handle.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        else:
            raise AssertionError(f"{directory} never filled up")
    for size in (4096, 512, 1):  # the last partial block too
        try:
            with open(filler, "ab", buffering=0) as handle:
                while True:
                    handle.write(b"\0" * size)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert found, "PostgreSQL server binaries not found under /usr/lib/postgresql"
    return found[-1].parent


@dataclass
class Cluster:
    """A PostgreSQL server this test owns: ``stop()`` and ``start()`` as an operator would."""

    root: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://kb@127.0.0.1:{self.port}/assistkb"

    def _run(self, *command: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start and wait (``-w``) until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"),
            "-l", str(self.root / "log"), "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "stop")


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """A throw-away PostgreSQL cluster with an empty ``assistkb`` database."""
    root = Path(tempfile.mkdtemp(prefix="kb-pg-fault-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")  # initdb refuses to run as root
    cluster = Cluster(root, free_port(), _pg_bin())
    cluster._run(
        str(cluster.bin_dir / "initdb"), "-D", str(root / "data"), "-U", "kb",
        "--auth=trust", "-E", "UTF8",
    )  # fmt: skip
    cluster.start()
    try:
        cluster._run(
            str(cluster.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port),
            "-U", "kb", "assistkb",
        )  # fmt: skip
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # the test stopped it
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
