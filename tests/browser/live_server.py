"""A uvicorn server for the browser tests that says when it is listening, so nobody sleeps."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import uvicorn


class ReadyServer(uvicorn.Server):
    """uvicorn with a ``ready`` event set once its sockets listen."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class _PageHandler(BaseHTTPRequestHandler):
    """Serves whatever ``page[0]`` holds when the browser asks: a CRM's page, set per test."""

    page: ClassVar[list[str]]

    def do_GET(self) -> None:
        body = self.page[0].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def host_page(page: list[str], name: str = "localhost") -> Iterator[str]:
    """Another origin serving ``page[0]`` (a CRM that frames the panel); yields its base URL.

    ``localhost`` is another site than the panel's 127.0.0.1; ``127.0.0.1`` only another origin.
    """
    handler = type("Host", (_PageHandler,), {"page": page})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{name}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
