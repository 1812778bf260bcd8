"""``kb backup`` / ``kb restore``: round trips on SQLite (one taken from a serving process) and
PostgreSQL, compared table by table and search by search; damaged archives are refused."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from kb import migrations
from kb.accounts.keys import create_key
from kb.accounts.users import create_user
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.backup.archive import (
    FORMAT_VERSION,
    MANIFEST,
    SQLITE_MEMBER,
    Manifest,
    now_iso,
    payload_files,
    write_archive,
)
from kb.backup.databases import copy_sqlite, sqlite_revision
from kb.backup.restore import restore_backup
from kb.backup.snapshot import take_backup
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.samples import load_sample
from kb.errors import Conflict, Invalid
from kb.insight.feedback import record_feedback
from kb.library.store import import_sample
from kb.models import Document
from kb.retrieval.indexing import ensure_fresh
from kb.retrieval.searching import SearchRequest, search
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary
from kb.settings import Settings
from search.index import CURRENT_FILE

MANUAL = """# 第1章 退货政策

## 1.1 退货期限

自签收之日起七天内，商品未使用且包装完好，可以申请无理由退货。

## 1.2 退款时间

仓库收到退货并检验合格后，退款在三到五个工作日内原路退回。
"""
FAQ = "问题,答案\n运费谁出？,非质量问题退货由顾客承担运费。\n支持哪些快递？,我们用顺丰发货。\n"
QUERIES = ["退款多久到账", "运费谁出", "退钱", "快递"]


def populate(kb: KnowledgeBase) -> None:
    """Documents (one with two versions), replies, rules, vocabulary, logs and accounts."""
    for text in (MANUAL, MANUAL.replace("三到五个", "一到两个")):
        items = [
            IngestItem("manual.md", text.encode(), DocumentMeta()),
            IngestItem("faq.csv", FAQ.encode(), DocumentMeta(doc_type="faq")),
        ]
        assert {r.status for r in ingest_items(kb, items, collection="default")} <= {
            "ingested",
            "unchanged",
        }
    import_sample(kb, load_sample())  # scripted replies and escalation rules
    save_vocabulary(kb, Vocabulary(user_dict="包邮 50000", synonyms="退款,退钱"))
    made = suggest(kb, SuggestInput(conversation=[Turn("customer", "退款多久到账？")]))
    item = made.answers[0].id
    record_feedback(kb, suggestion_id=made.suggestion_id, item_id=item, action="helpful")
    create_user(kb, email="manager@assistkb.test", role="manager", actor="cli")
    create_key(kb, name="crm", scopes=["search", "suggest"], actor="cli")


def contents(kb: KnowledgeBase) -> dict[str, Any]:
    """Every row of every table, and the ranked (chunk, score) pairs of a few searches."""
    tables: dict[str, Any] = {}
    with kb.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            query = table.select().order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in connection.execute(query)]
    searches = {
        q: [(h.chunk.chunk_id, h.score) for h in search(kb, SearchRequest(q, limit=5))]
        for q in QUERIES
    }
    return {"tables": tables, "searches": searches}


def assert_same(original: dict[str, Any], restored: KnowledgeBase) -> None:
    assert original["tables"]["chunk"] and original["tables"]["feedback"]  # not vacuous
    assert contents(restored) == original
    # The restored generation is the one built from the restored chunks: nothing to rebuild.
    assert ensure_fresh(restored, "default") is False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kb_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kb.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline:
        assert process.poll() is None, f"kb serve exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # polling a port that is not open yet, not synchronising on time
    raise AssertionError("kb serve did not listen within the deadline")


@pytest.mark.timeout(600)
def test_backup_of_a_serving_sqlite_kb_restores_everything(
    make_kb: Callable[..., KnowledgeBase], embedding_cache_dir: Path, tmp_path: Path
) -> None:
    kb = make_kb()
    populate(kb)
    original = contents(kb)
    data_dir, archive, port = kb.settings.data_dir, tmp_path / "kb.tar.gz", _free_port()
    env = {**os.environ, "KB_CACHE_DIR": str(embedding_cache_dir)}
    env.pop("KB_DATA_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(server, port)
        backup = _kb_command("backup", str(archive), "--data-dir", str(data_dir), env=env)
        assert backup.returncode == 0, backup.stderr
        assert "embedding cache included" in backup.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    restored_dir = tmp_path / "restored"
    restore = _kb_command("restore", str(archive), "--data-dir", str(restored_dir), env=env)
    assert restore.returncode == 0, restore.stderr
    assert "`kb serve` can start on it" in restore.stdout
    assert (restored_dir / "secret_key").read_bytes() == (data_dir / "secret_key").read_bytes()
    assert (restored_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    restored = make_kb(data_dir=restored_dir)
    assert_same(original, restored)


@pytest.mark.postgres
def test_postgresql_round_trip_through_pg_dump(
    make_kb: Callable[..., KnowledgeBase], new_postgres_url: Callable[..., str], tmp_path: Path
) -> None:
    kb = make_kb(database_url=new_postgres_url())
    populate(kb)
    original = contents(kb)
    done = take_backup(kb, tmp_path / "kb.tar.gz")
    assert done.manifest.backend == "postgresql"
    assert "database/assistkb.pgdump" in done.manifest.files

    target = kb.settings.model_copy(
        update={"data_dir": tmp_path / "restored", "database_url": new_postgres_url(empty=True)}
    )
    restore_backup(target, done.path)
    restored = make_kb(data_dir=target.data_dir, database_url=target.database_url)
    assert_same(original, restored)
    # A second restore into the now full database is refused, and leaves the data dir empty.
    again = target.model_copy(update={"data_dir": tmp_path / "again"})
    with pytest.raises(Conflict, match="is not empty"):
        restore_backup(again, done.path)
    assert list(again.data_dir.iterdir()) == []
    # Nor does a PostgreSQL archive go into a SQLite data directory.
    sqlite = target.model_copy(update={"data_dir": tmp_path / "sqlite", "database_url": None})
    with pytest.raises(Invalid, match="holds a postgresql database but the target is sqlite"):
        restore_backup(sqlite, done.path)


def test_an_archive_at_an_older_schema_is_migrated_when_the_kb_next_opens(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    """An archive holding release 040a051's database (tests/fixtures), packed as backups are."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-040a051"
    payload = tmp_path / "payload"
    copy_sqlite(fixture / "assistkb.sqlite3", payload / SQLITE_MEMBER)
    live = (fixture / "index" / "default" / CURRENT_FILE).read_text().strip()
    shutil.copytree(fixture / "index" / "default" / live, payload / "index" / "default" / live)
    (payload / "index" / "default" / CURRENT_FILE).write_text(live + "\n")
    manifest = Manifest(
        format_version=FORMAT_VERSION, app_version="040a051", schema_revision=None,
        backend="sqlite", created=now_iso(), with_cache=False, collections={},
        files=payload_files(payload),
    )  # fmt: skip
    write_archive(tmp_path / "old.tar.gz", payload, manifest)
    restored_dir = tmp_path / "restored"
    env = {**os.environ}
    done = _kb_command(
        "restore", str(tmp_path / "old.tar.gz"), "--data-dir", str(restored_dir), env=env
    )
    assert done.returncode == 0, done.stderr
    assert "applies the pending migrations at start-up" in done.stdout
    assert sqlite_revision(restored_dir / "assistkb.sqlite3") is None  # restored as it was
    restored = make_kb(data_dir=restored_dir)  # opening it migrates, as at every start
    assert sqlite_revision(restored_dir / "assistkb.sqlite3") == migrations.head_revision()
    with restored.engine.connect() as connection:
        documents = connection.execute(Document.__table__.select()).all()  # type: ignore[attr-defined]
    with closing(sqlite3.connect(fixture / "assistkb.sqlite3")) as old:
        assert len(documents) == old.execute("SELECT count(*) FROM document").fetchone()[0] > 0


# --- refusals --------------------------------------------------------------------------------


@pytest.fixture
def small_archive(make_kb: Callable[..., KnowledgeBase], tmp_path: Path) -> Path:
    """The backup of a knowledge base with accounts only (nothing to embed)."""
    kb = make_kb()
    create_user(kb, email="admin@assistkb.test", role="admin", actor="cli")
    return take_backup(kb, tmp_path / "small.tar.gz", with_cache=False).path


def _members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(m, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]


def _rewrite(archive: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _truncate(archive: Path) -> None:
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])


def _flip_a_database_byte(archive: Path) -> None:
    members = _members(archive)
    for i, (info, data) in enumerate(members):
        if info.name.startswith("database/"):
            members[i] = (info, data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    _rewrite(archive, members)


def _newer_format(archive: Path) -> None:
    members = _members(archive)
    manifest = json.loads(members[0][1])
    manifest["format_version"] = FORMAT_VERSION + 1
    members[0] = (members[0][0], json.dumps(manifest).encode())
    _rewrite(archive, members)


def _escaping_member(archive: Path) -> None:
    members = _members(archive)
    manifest = json.loads(members[0][1])
    manifest["files"]["../outside"] = {"size": 1, "sha256": "0" * 64}
    members[0] = (members[0][0], json.dumps(manifest).encode())
    _rewrite(archive, [*members, (tarfile.TarInfo("../outside"), b"x")])


def _not_a_backup(archive: Path) -> None:
    archive.write_bytes(gzip.compress(b"just some text"))


def _no_manifest(archive: Path) -> None:
    _rewrite(archive, [m for m in _members(archive) if m[0].name != MANIFEST])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncate, "is damaged or truncated"),
        (_flip_a_database_byte, "database/assistkb.sqlite3 fails its checksum"),
        (_newer_format, f"is backup format {FORMAT_VERSION + 1}.*reads formats up to"),
        (_escaping_member, "unexpected member '../outside'"),
        (_not_a_backup, "is damaged or truncated"),
        (_no_manifest, "does not start with manifest.json"),
    ],
)
def test_a_damaged_archive_is_refused_and_nothing_restored(
    small_archive: Path, tmp_path: Path, damage: Callable[[Path], None], message: str
) -> None:
    damage(small_archive)
    target = Settings(data_dir=tmp_path / "restored")
    with pytest.raises(Invalid, match=message):
        restore_backup(target, small_archive)
    assert list(target.data_dir.iterdir()) == []
    assert not (tmp_path / "outside").exists()


def test_restore_refuses_a_data_directory_that_is_not_empty(
    small_archive: Path, tmp_path: Path
) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(Conflict, match=f"the data directory {occupied} is not empty"):
        restore_backup(Settings(data_dir=occupied), small_archive)
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]


def test_cli_reports_a_refusal_as_one_error_line(small_archive: Path, tmp_path: Path) -> None:
    _truncate(small_archive)
    done = _kb_command(
        "restore", str(small_archive), "--data-dir", str(tmp_path / "r"), env=dict(os.environ)
    )
    assert done.returncode == 1
    assert "error:" in done.stderr and "damaged or truncated" in done.stderr
    assert "Traceback" not in done.stderr
