"""A real ``kb serve`` process for tests: started on a data directory, spoken to over HTTP.

The API key is created in the data directory before the server starts, as an operator would
with ``kb keys create``; the server is stopped with SIGTERM and its log kept for assertions.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.settings import Settings

ALL_SCOPES = ("search", "suggest", "feedback", "documents:read", "documents:write")
START_SECONDS = 200  # start-up loads the embedder and warms the indexes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_key(settings: Settings) -> str:
    """An API key with every scope the tests use, written into ``settings``' database."""
    kb = KnowledgeBase(settings)
    try:
        return create_key(kb, name="tests", scopes=ALL_SCOPES, actor="tests").key
    finally:
        kb.close()


def kb_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``kb`` child process working on ``settings``' data."""
    env = {**os.environ, "KB_DATA_DIR": str(settings.data_dir)}
    if settings.cache_dir is not None:
        env["KB_CACHE_DIR"] = str(settings.cache_dir)
    if settings.database_url is not None:
        env["KB_DATABASE_URL"] = settings.database_url
    if settings.shared:
        env["KB_SHARED"] = "true"
        env["KB_INDEX_POLL_SECONDS"] = str(settings.index_poll_seconds)
    env.update(extra or {})
    return env


def run_kb(
    settings: Settings, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``kb ARGS`` as a separate process on ``settings``' data; never raises on its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        env=kb_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    key: str
    log: str = ""
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """An HTTP client with the key's Bearer header; one per thread (closed at the end)."""
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120
        )
        self._clients.append(client)
        return client

    def search(self, client: httpx.Client, query: str, **body: Any) -> httpx.Response:
        return client.post("/api/v1/search", json={"query": query, **body})

    def upload(self, client: httpx.Client, name: str, data: bytes) -> httpx.Response:
        return client.post("/api/v1/documents", files={"files": (name, data)})


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, deadline: float) -> None:
    """Poll /healthz until it answers (readiness, not a sleep standing in for an event)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kb serve exited with {process.returncode} during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # the port is not open yet
    raise AssertionError(f"kb serve did not answer {url}/healthz within {START_SECONDS} s")


@contextmanager
def serving(
    settings: Settings, *, key: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """``kb serve`` on ``settings``' data directory (and database) until the block ends; ``env``
    adds to (or overrides) its ``KB_*`` environment."""
    key = key or make_key(settings)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--port", str(port)],
        env=kb_env(settings, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(process, f"http://127.0.0.1:{port}", key)
    try:
        wait_until_healthy(process, server.url, time.monotonic() + START_SECONDS)
        yield server
    finally:
        for client in server._clients:
            client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        server.log = stderr.decode(errors="replace")


def search_settings(data_dir: Path, cache_dir: Path, **overrides: Any) -> Settings:
    """Settings of a served data directory that shares the session's embedding cache."""
    return Settings(data_dir=data_dir, cache_dir=cache_dir, **overrides)
