"""A uvicorn server for the browser tests that says when it is listening, so nobody sleeps."""

from __future__ import annotations

import socket
import threading

import uvicorn


class ReadyServer(uvicorn.Server):
    """uvicorn with a ``ready`` event set once its sockets listen."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()
