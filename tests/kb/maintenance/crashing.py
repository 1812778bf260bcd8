"""Shared by the crash tests: a small corpus in two versions, and a real process killed at a point.

The first version's texts are the same in every test (the session's embedding cache knows them
after the first); the second version's answers carry a token of their own, so each test really
embeds them (40 FAQ rows: more than one embedding batch of 32).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from kb.accounts.keys import create_key
from kb.accounts.sessions import resolve_session, token_hash
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import UserAccount, UserSession, utcnow
from search.pause import PausePoint

FAQ_ROWS = 40
COLLECTION = "default"
GUIDE = """# Gadget care guide

## Cleaning

Wipe the gadget with a dry cloth once a week. Never use water on the charging port.

## Storage

Store the gadget in a cool, dry place away from direct sunlight.
"""


def faq_csv(token: str = "") -> str:
    """The FAQ sheet; a ``token`` makes every answer (so every chunk) new text."""
    rows = ["question,answer,tags"]
    for i in range(FAQ_ROWS):
        suffix = f" Ticket code {token}-{i}." if token else ""
        rows.append(
            f"How do I reset gadget model {i}?,Hold the power button of model {i} for "
            f"{i + 5} seconds until the light blinks {i % 4 + 2} times.{suffix},reset"
        )
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Corpus:
    folder: Path
    token: str

    def write_first_version(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "faq.csv").write_text(faq_csv(), encoding="utf-8")
        (self.folder / "guide.md").write_text(GUIDE, encoding="utf-8")

    def write_second_version(self, token: str | None = None) -> None:
        """The FAQ changes (40 new chunks); the guide stays as it was."""
        (self.folder / "faq.csv").write_text(faq_csv(token or self.token), encoding="utf-8")


def new_corpus(folder: Path) -> Corpus:
    return Corpus(folder, uuid.uuid4().hex[:10])


def child_env(
    cache_dir: Path, point: PausePoint | None, marker: Path, database_url: str | None = None
) -> dict[str, str]:
    env = {**os.environ, "KB_CACHE_DIR": str(cache_dir)}
    for name in ("KB_DATA_DIR", "KB_DATABASE_URL", "KB_PAUSE_AT", "KB_PAUSE_FILE"):
        env.pop(name, None)
    if database_url:
        env["KB_DATABASE_URL"] = database_url
    if point is not None:
        env |= {"KB_PAUSE_AT": point, "KB_PAUSE_FILE": str(marker)}
    return env


def wait_for_marker(process: subprocess.Popen[bytes], marker: Path, deadline: float) -> int:
    """Poll until the child says it reached its pause point; returns the pid it wrote."""
    while time.monotonic() < deadline:
        if marker.exists():
            return int(marker.read_text(encoding="utf-8").split()[0])
        if process.poll() is not None:
            raise AssertionError(f"the child exited with {process.returncode} before pausing")
        time.sleep(0.2)  # polling for a file the child writes, not synchronising on time
    raise AssertionError(f"the child did not reach its pause point ({marker.name})")


def kill(process: subprocess.Popen[bytes]) -> None:
    """A real SIGKILL: no handler, no clean-up, no atexit (a child already gone is left be)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def ingest_killed_at(
    point: PausePoint,
    corpus: Corpus,
    data_dir: Path,
    cache_dir: Path,
    marker: Path,
    database_url: str | None = None,
) -> None:
    """Run ``kb ingest`` on the corpus as a real process and SIGKILL it at ``point``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "ingest", str(corpus.folder), "--data-dir", str(data_dir)],
        env=child_env(cache_dir, point, marker, database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for_marker(process, marker, time.monotonic() + 300) == process.pid
    finally:
        kill(process)
    assert process.returncode == -signal.SIGKILL


# --- kb serve -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path, cache_dir: Path, port: int, point: PausePoint | None, marker: Path, log: Path
) -> subprocess.Popen[bytes]:
    """``kb serve`` as a real process, listening (its start-up has finished) when this returns."""
    with open(log, "ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir),
             "--port", str(port)],
            env=child_env(cache_dir, point, marker),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kb serve exited with {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)  # polling a port that is not open yet, not synchronising on time
    kill(process)
    raise AssertionError("kb serve did not listen within the deadline")


@dataclass(frozen=True)
class Credentials:
    api_key: str  # documents and search scopes
    session_token: str  # a manager's console session
    csrf_token: str


def credentials(kb: KnowledgeBase) -> Credentials:
    """An API key and a manager's session, written as `kb keys create` and /login write them."""
    key = create_key(
        kb, name="crash-test", scopes=["documents:read", "documents:write", "search"], actor="test"
    )
    token, now = secrets.token_urlsafe(32), utcnow()
    with session_scope(kb.engine) as session:
        user = UserAccount(
            email="manager@assistkb.test", role="manager", password_hash="!unusable",
            collections=[], created_at=now, updated_at=now, password_changed_at=now,
        )  # fmt: skip
        session.add(user)
        session.flush()
        session.add(
            UserSession(
                token_hash=token_hash(token), user_id=user.id, csrf_secret=secrets.token_hex(32),
                created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=2),
            )
        )  # fmt: skip
    info = resolve_session(kb, token=token)
    assert info is not None
    return Credentials(key.key, token, info.csrf_token)
