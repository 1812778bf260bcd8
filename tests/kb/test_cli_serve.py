"""``kb serve`` as a real process: the app started by its import string, on the given data dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    """Poll the port until the server accepts connections (start-up loads the embedder)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kb serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # polling a port that is not open yet, not synchronising on time
    raise AssertionError("kb serve did not listen within the deadline")


@pytest.mark.timeout(240)
def test_serve_runs_the_app_on_the_given_data_dir(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    data_dir, port = tmp_path / "served", _free_port()
    env = {**os.environ, "KB_CACHE_DIR": str(embedding_cache_dir)}
    env.pop("KB_DATA_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(process, port, time.monotonic() + 200)
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        # The factory built its settings from --data-dir: the database lives there.
        assert (data_dir / "assistkb.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    log = stderr.decode(errors="replace")
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -SIGTERM).
    assert process.returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete" in log and "Traceback" not in log
