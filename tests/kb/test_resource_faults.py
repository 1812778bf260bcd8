"""Resource faults on real file systems and a real PostgreSQL, against a real ``kb serve``: a
full disk (tmpfs) during an index build and during an upload, a read-only data directory, and
the database server stopped and started again while the server runs.

Each fault must give a clear answer (API 507/503 with the one error body, a CLI message), leave
the live index and the database as they were, and heal by itself once the fault is gone.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fault_injection import fill, postgres_cluster, read_only, small_tmpfs
from served import Server, make_key, run_kb, serving

from kb.settings import Settings

MARKER = re.compile(r"part (\d+) of (\d+) in edition(\d+)")
QUERY = "zebra procedure gadget"
FULL = "disk is full"


def faq(edition: int, rows: int = 3, padding: int = 0) -> bytes:
    """An FAQ sheet whose every answer names its edition (and, padded, weighs more)."""
    filler = " lorem" * padding
    lines = ["question,answer"] + [
        f"How does gadget part {i} work in edition{edition},"
        f"part {i} of {rows} in edition{edition} explains the zebra procedure{filler}"
        for i in range(1, rows + 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def served_editions(server: Server, client: httpx.Client) -> set[int]:
    response = server.search(client, QUERY, limit=100)
    assert response.status_code == 200, response.text
    return {int(MARKER.search(h["text"]).group(3)) for h in response.json()["hits"]}  # type: ignore[union-attr]


def document_versions(client: httpx.Client) -> list[tuple[int, list[int]]]:
    """Every document's current version and all its stored versions, as the API shows them."""
    found = []
    for summary in client.get("/api/v1/documents").json()["documents"]:
        detail = client.get(f"/api/v1/documents/{summary['id']}").json()
        found.append((detail["current_version"], [v["number"] for v in detail["versions"]]))
    return found


def assert_error_body(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert words in message, message


@pytest.mark.timeout(400)
def test_disk_full_during_an_index_build_keeps_the_live_index_and_the_database(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    # The index alone on a small disk: the database writes succeed, the index build cannot.
    with small_tmpfs(settings.index_dir, size_kb=2048), serving(settings) as server:
        client = server.client()
        assert server.upload(client, "gadget.csv", faq(1)).status_code == 200
        filler = fill(settings.index_dir)

        assert_error_body(server.upload(client, "gadget.csv", faq(2)), 507, FULL)
        assert served_editions(server, client) == {1}  # the live generation still answers
        assert document_versions(client) == [(1, [1])]  # and the database still says v1
        leftovers = [p.name for p in settings.index_dir.glob("*/.*.tmp")]
        assert not leftovers, f"half-built generations left behind: {leftovers}"
        # A new document's first version is undone too: it would not be searchable.
        assert_error_body(server.upload(client, "other.csv", faq(3)), 507, FULL)
        assert document_versions(client) == [(1, [1])]

        filler.unlink()  # space again: the same upload now succeeds, as exactly version 2
        response = server.upload(client, "gadget.csv", faq(2))
        assert response.status_code == 200, response.text
        assert response.json()["files"][0]["version"] == 2
        assert served_editions(server, client) == {2}
        assert document_versions(client) == [(2, [1, 2])]
    assert "Traceback" not in server.log, server.log[-3000:]


@pytest.mark.timeout(400)
def test_disk_full_during_an_upload_answers_507_and_changes_nothing(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, cache_dir=embedding_cache_dir)
    source = tmp_path / "big.csv"
    # 400 rows of ~1 kB: far more than any slack SQLite's files keep.
    source.write_bytes(faq(9, rows=400, padding=150))
    with small_tmpfs(data_dir, size_kb=8192), serving(settings) as server:
        client = server.client()
        assert server.upload(client, "gadget.csv", faq(1)).status_code == 200
        filler = fill(data_dir)

        assert_error_body(server.upload(client, "big.csv", source.read_bytes()), 507, FULL)
        assert served_editions(server, client) == {1}
        assert document_versions(client) == [(1, [1])]
        # The command line says the same, in one line, with no traceback.
        done = run_kb(settings, "ingest", str(source))
        assert done.returncode == 1, done.stdout + done.stderr
        said = " ".join(done.stderr.split())
        assert FULL in said and "Traceback" not in said, said

        filler.unlink()  # space again: uploads succeed (a small one: embedding 400 rows is slow)
        response = server.upload(client, "gadget.csv", faq(2))
        assert response.status_code == 200, response.text
        assert document_versions(client) == [(2, [1, 2])]
        assert served_editions(server, client) == {2}
    assert "Traceback" not in server.log, server.log[-3000:]


@pytest.mark.timeout(300)
def test_an_unwritable_data_directory_is_a_clear_start_up_error(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, cache_dir=embedding_cache_dir)
    source = tmp_path / "gadget.csv"
    source.write_bytes(faq(1))
    assert run_kb(settings, "ingest", str(source)).returncode == 0
    with read_only(data_dir):
        for command in (["serve", "--port", "0"], ["ingest", str(source)]):
            done = run_kb(settings, *command, timeout=120)
            said = " ".join(done.stderr.split())  # the console wraps long lines
            assert done.returncode == 1, done.stdout + done.stderr
            assert f"the data directory {data_dir} is not writable" in said, said
            assert "(Read-only file system)" in said and "Traceback" not in said, said
    # Mounted read-write again, the same directory serves as before.
    done = run_kb(settings, "search", QUERY)
    assert done.returncode == 0 and "edition1" in done.stdout, done.stdout + done.stderr


@pytest.mark.postgres
@pytest.mark.timeout(400)
def test_postgres_stopped_while_serving_answers_503_and_recovers(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    with postgres_cluster() as cluster:
        settings = Settings(
            data_dir=tmp_path / "data", cache_dir=embedding_cache_dir, database_url=cluster.url
        )
        upgraded = run_kb(settings, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with serving(settings, key=make_key(settings)) as server:
            client = server.client()
            assert server.upload(client, "gadget.csv", faq(1)).status_code == 200
            assert served_editions(server, client) == {1}

            cluster.stop("fast")
            turn = {"role": "customer", "text": f"How does the {QUERY} work?"}
            down = [
                server.search(client, QUERY),
                client.post("/api/v1/suggest", json={"conversation": [turn]}),
                client.get("/api/v1/documents"),
                server.upload(client, "gadget.csv", faq(2)),
            ]
            for response in down:
                assert_error_body(response, 503, "the database is unavailable")
            assert server.process.poll() is None

            cluster.start()  # no restart of kb serve: the pool reconnects (pre-ping)
            assert served_editions(server, client) == {1}
            assert server.upload(client, "gadget.csv", faq(2)).status_code == 200
            assert served_editions(server, client) == {2}
            assert document_versions(client) == [(2, [1, 2])]
        assert "Traceback" not in server.log, server.log[-3000:]
