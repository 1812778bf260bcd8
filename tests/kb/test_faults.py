"""kb/faults.py: real faults (a full tmpfs, a read-only mount, a refused connection) become the
domain errors the API, the CLI and the jobs report; a background job on a full disk fails
with that message and leaves the live version alone."""

from __future__ import annotations

import errno
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fault_injection import fill, read_only, small_tmpfs
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from kb.context import KnowledgeBase
from kb.documents.catalog import list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import shutdown_jobs, start_ingest_job, wait_for_job
from kb.errors import Invalid, KBError, StorageFull, Unavailable
from kb.faults import as_domain_error, check_writable
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.vectorstore import FaissVectorStore
from web.i18n import gettext


def _sqlite_full(directory: Path) -> sqlite3.OperationalError:
    connection = sqlite3.connect(directory / "full.sqlite3")
    try:
        connection.execute("CREATE TABLE t (x TEXT)")
        for _ in range(1000):
            connection.execute("INSERT INTO t VALUES (?)", ("x" * 10_000,))
        connection.commit()
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("a 64 KiB disk took 10 MB")


def _refused() -> OperationalError:
    engine = create_engine("postgresql+psycopg://kb@127.0.0.1:1/none?connect_timeout=5")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("port 1 accepted a PostgreSQL connection")


def test_faults_become_domain_errors(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size_kb=64) as disk:
        full_sqlite = _sqlite_full(disk)
        fill(disk)
        with pytest.raises(OSError) as full_file:
            (disk / "more.bin").write_bytes(b"x" * 8192)
    cases: list[tuple[BaseException, type[KBError] | None, str]] = [
        (full_file.value, StorageFull, "the disk is full (No space left on device)"),
        (full_sqlite, StorageFull, "the disk is full (database or disk is full)"),
        (_refused(), Unavailable, "the database is unavailable"),
        (OSError(errno.ENOENT, "No such file or directory"), None, ""),
        (RuntimeError("a bug"), None, ""),
        (Invalid("bad", field="x"), Invalid, "bad"),  # domain errors pass through
    ]
    for exc, expected, words in cases:
        found = as_domain_error(exc)
        if expected is None:
            assert found is None, (exc, found)
            continue
        assert isinstance(found, expected), (exc, found)
        assert words in found.message, found.message
        if expected is Invalid:
            continue
        # A template with values, so every reader gets it in their language: these were
        # f-strings and stayed English everywhere but the job panel.
        shown = gettext("zh-Hans", found.message.template, **found.message.params)
        assert shown != found.message and re.search(r"[\u4e00-\u9fff]", shown), shown


def test_a_full_disk_under_faiss_is_an_oserror(tmp_path: Path) -> None:
    store = FaissVectorStore.build(np.ones((200, 384), dtype="float32"), dim=384)
    with small_tmpfs(tmp_path / "disk", size_kb=64) as disk, pytest.raises(OSError) as raised:
        store.save(disk / "vectors.faiss")
    assert raised.value.errno == errno.ENOSPC
    assert isinstance(as_domain_error(raised.value), StorageFull)


def test_check_writable_names_the_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "data")
    check_writable(settings)  # a missing directory is created
    assert settings.index_dir.is_dir()
    with read_only(settings.data_dir), pytest.raises(Unavailable) as raised:
        check_writable(settings)
    assert str(settings.data_dir) in raised.value.message
    assert "Read-only file system" in raised.value.message
    shown = gettext("zh-Hant", raised.value.message.template, **raised.value.message.params)
    assert shown.startswith(f"資料目錄 {settings.data_dir} 無法寫入"), shown


def test_a_job_on_a_full_disk_fails_with_the_reason(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    rows = "question,answer\nHow does the zebra gadget work,The zebra gadget works in edition{}\n"
    with small_tmpfs(settings.index_dir, size_kb=1024):
        kb = KnowledgeBase(settings)
        try:
            ingest_items(kb, [IngestItem("z.csv", rows.format(1).encode())], collection="default")
            fill(settings.index_dir)
            job = start_ingest_job(kb, [IngestItem("z.csv", rows.format(2).encode())], "default")
            done = wait_for_job(kb, job, timeout=120)
            assert done.status == "failed" and done.error is not None
            assert "disk is full" in done.error, done.error
            (doc,) = list_documents(kb)
            assert doc.current_version == 1
            hits = search(kb, SearchRequest("zebra gadget"))
            assert [h.chunk.version for h in hits] == [1]
        finally:
            shutdown_jobs(kb)
            kb.close()
