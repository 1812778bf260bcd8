"""A PDF bomb uploaded to a running ``kb serve`` or given to ``kb ingest``: refused alone, the
memory of the process that serves or ingests untouched.

Issue 16: a 389 KB PDF whose one content stream inflates to 200 MB took ``kb ingest`` to 7 GB
and was still parsing after five minutes, and an upload ran that inside the web process. The
PDF loader now refuses a page past 5 MB of content at once (tests/ingest/test_hostile.py); this
file stays under that (4 MB of text operators in a 13 KB PDF, still gigabytes to pdfminer), so
only the parse fence stops it. It goes up through the API beside a good file while another
client keeps searching; the server's own peak memory (VmHWM in /proc) is read before and after.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hostile_files import GOOD_TEXT, pdf_operator_bomb
from served import Server, kb_env, serving

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items

PARSE_MEMORY_MB = 500
GOOD_FILE = "蓝牙耳机配对：长按耳机盒按钮三秒，指示灯闪白光后在手机蓝牙列表里选择耳机即可。"


def _peak_while_running(process: subprocess.Popen[str]) -> float:
    """The process's peak resident memory (MB), read from /proc until it exits."""
    peak = 0.0
    while process.poll() is None:
        # Exiting: a zombie's /proc status has no memory lines.
        with contextlib.suppress(OSError, KeyError):
            peak = max(peak, _memory_mb(process.pid)["VmHWM"])
        time.sleep(0.05)  # sampling, not waiting for an event
    return peak


def _memory_mb(pid: int) -> dict[str, float]:
    """The process's peak and current resident memory, in MB, from /proc (no psutil needed)."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {key: int(fields[key].split()[0]) / 1000 for key in ("VmHWM", "VmRSS")}


@dataclass
class Searching:
    """A client searching in a loop until stopped: when each answer came, and its status."""

    server: Server
    answers: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = self.server.client()
        while not self.stop.is_set():
            status = self.server.search(client, "退款多久到账", limit=3).status_code
            self.answers.append((time.monotonic(), status))
            time.sleep(0.2)  # an agent's pace, not a load test


@pytest.mark.timeout(600)
def test_pdf_bomb_upload_fails_alone_while_the_server_answers_searches(
    make_kb: Callable[..., KnowledgeBase], monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = make_kb()
    [done] = ingest_items(kb, [IngestItem("returns.txt", GOOD_TEXT.encode())], collection="default")
    assert done.status == "ingested"
    settings = kb.settings
    kb.close()
    bomb = pdf_operator_bomb(4_000_000)
    assert len(bomb) < 20_000
    monkeypatch.setenv("KB_PARSE_MEMORY_MB", str(PARSE_MEMORY_MB))
    with serving(settings) as server:
        client = server.client()
        assert server.search(client, "退款").status_code == 200  # warm: the embedder is loaded
        before = _memory_mb(server.process.pid)
        searching = Searching(server)
        searcher = threading.Thread(target=searching.run)
        searcher.start()
        started = time.monotonic()
        try:
            response = client.post(
                "/api/v1/documents",
                files=[
                    ("files", ("bomb.pdf", bomb)),
                    ("files", ("earbuds.txt", GOOD_FILE.encode())),
                ],
            )
            finished = time.monotonic()
        finally:
            searching.stop.set()
            searcher.join()
        after = _memory_mb(server.process.pid)
        found = server.search(client, "蓝牙耳机怎么配对", limit=3).json()["hits"]
        old = server.search(client, "退款多久到账", limit=3).json()["hits"]

    assert response.status_code == 200, response.text
    files = {f["filename"]: f for f in response.json()["files"]}
    assert files["bomb.pdf"]["status"] == "failed"
    assert files["bomb.pdf"]["reason"].startswith(
        f"parsing needed more than {PARSE_MEMORY_MB} MB of memory"
    ), files["bomb.pdf"]["reason"]
    assert files["earbuds.txt"]["status"] == "ingested"
    # Refused in seconds (the machine may be busy), not after minutes.
    assert finished - started < 120, f"the upload took {finished - started:.0f} s"
    # The server never parsed the bomb: its peak memory hardly moved.
    assert after["VmHWM"] - before["VmHWM"] < 150, (before, after)
    during = [status for at, status in searching.answers if at < finished]
    assert len(during) >= 3 and set(during) == {200}, searching.answers
    assert found and "蓝牙耳机" in found[0]["text"]
    assert old and "退款" in old[0]["text"]  # the documents before the upload still answer
    print(
        f"bomb refused in {finished - started:.1f} s; server VmHWM {before} -> {after}; "
        f"{len(during)} searches answered during the upload"
    )


@pytest.mark.timeout(600)
def test_kb_ingest_refuses_a_pdf_bomb_and_ingests_the_file_beside_it(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = make_kb()
    settings = kb.settings
    kb.close()
    (tmp_path / "bomb.pdf").write_bytes(pdf_operator_bomb(4_000_000))
    (tmp_path / "earbuds.txt").write_text(GOOD_FILE)
    env = kb_env(settings, {"KB_PARSE_MEMORY_MB": str(PARSE_MEMORY_MB)})
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "ingest", "--json", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = _peak_while_running(process)
    stdout, stderr = process.communicate(timeout=300)
    took = time.monotonic() - started

    assert process.returncode == 2, stderr  # a file failed
    files = {f["filename"]: f for f in json.loads(stdout)}
    assert files["bomb.pdf"]["reason"].startswith(f"parsing needed more than {PARSE_MEMORY_MB} MB")
    assert files["earbuds.txt"]["status"] == "ingested"
    assert took < 150, f"kb ingest took {took:.0f} s"
    # The embedder is loaded in this process; the bomb never was (unbounded: gigabytes).
    assert peak < 500, f"kb ingest peaked at {peak:.0f} MB"
    print(f"kb ingest: {took:.1f} s, peak {peak:.0f} MB")
