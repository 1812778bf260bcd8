"""Shared fixtures: one embedding cache per session, the sample KB built once, a real PostgreSQL."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from hypothesis import HealthCheck, settings
from sqlmodel import select

from kb.accounts.passwords import generate_password, hash_password
from kb.accounts.schemas import SessionInfo
from kb.accounts.sessions import resolve_session, token_hash
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import UserAccount, UserSession, utcnow
from kb.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Property tests are deterministic (the same examples on every run and in CI) and bounded:
# no per-example deadline on a shared machine, at most 200 examples a property.
settings.register_profile(
    "assistkb",
    derandomize=True,
    deadline=None,
    max_examples=200,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("assistkb")


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every knowledge base in the session shares one embedding cache: each text embeds once."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def make_kb(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[Callable[..., KnowledgeBase]]:
    """Factory for fresh knowledge bases on their own data dir (SQLite unless a URL is given);
    ``data_dir=`` opens an existing one."""
    opened: list[KnowledgeBase] = []

    def factory(**overrides: object) -> KnowledgeBase:
        values: dict[str, object] = {"cache_dir": embedding_cache_dir, **overrides}
        values.setdefault("data_dir", tmp_path_factory.mktemp("kb-data"))
        settings = Settings(**values)  # type: ignore[arg-type]
        kb = KnowledgeBase(settings)
        opened.append(kb)
        return kb

    yield factory
    for kb in opened:
        kb.close()


def _sample_kb(settings: Settings) -> KnowledgeBase:
    from kb.documents.ingestion import ingest_items
    from kb.documents.samples import load_sample
    from kb.library.store import import_sample

    kb = KnowledgeBase(settings)
    sample = load_sample()
    for collection, items in sample.collection_items.items():
        results = ingest_items(kb, items, collection=collection)
        failed = [r for r in results if r.status == "failed"]
        assert not failed, failed
    import_sample(kb, sample)
    return kb


@pytest.fixture(scope="session")
def sample_kb(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[KnowledgeBase]:
    """The bundled sample knowledge base, ingested once per session. Treat it as read-only."""
    data_dir = tmp_path_factory.mktemp("sample-kb")
    kb = _sample_kb(Settings(data_dir=data_dir, cache_dir=embedding_cache_dir))
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def sample_kb_postgres(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    new_postgres_url: Callable[..., str],
) -> Iterator[KnowledgeBase]:
    """The sample knowledge base on PostgreSQL, ingested once per session (embeddings cached)."""
    data_dir = tmp_path_factory.mktemp("sample-kb-pg")
    url = new_postgres_url()
    kb = _sample_kb(Settings(data_dir=data_dir, cache_dir=embedding_cache_dir, database_url=url))
    yield kb
    kb.close()


@pytest.fixture
def db_sample_kb(backend: str, request: pytest.FixtureRequest) -> KnowledgeBase:
    """The sample knowledge base on ``backend``'s database, for tests whose subject is SQL."""
    name = "sample_kb_postgres" if backend == "postgresql" else "sample_kb"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


# --- signed-in clients ----------------------------------------------------------------------


@cache
def _password_hash() -> str:
    """One argon2 hash (~0.7 s) of a random password, shared by every test user: never usable."""
    return hash_password(generate_password())


def sign_in_client(
    client: Any,
    role: str = "manager",
    email: str | None = None,
    collections: list[str] | None = None,
) -> SessionInfo:
    """Give a TestClient the session cookie and CSRF header of a person of ``role``.

    The user and session rows are written as ``kb.accounts.sessions.login`` writes them, without
    its argon2 check; tests/web/test_auth.py signs in through the real /login form."""
    from web.auth import CSRF_HEADER, SESSION_COOKIE

    kb: KnowledgeBase = client.app.state.kb
    email = email or f"{role}@assistkb.test"
    token, now = secrets.token_urlsafe(32), utcnow()
    with session_scope(kb.engine) as session:
        user = session.exec(select(UserAccount).where(UserAccount.email == email)).first()
        if user is None:
            user = UserAccount(
                email=email, role=role, password_hash=_password_hash(),
                collections=collections or [],
                created_at=now, updated_at=now, password_changed_at=now,
            )  # fmt: skip
            session.add(user)
            session.flush()
        session.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=user.id,
                csrf_secret=secrets.token_hex(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=2),
            )
        )
    info = resolve_session(kb, token=token)
    assert info is not None
    client.cookies.set(SESSION_COOKIE, token)
    client.headers[CSRF_HEADER] = info.csrf_token  # as HTMX sends it (hx-headers on <body>)
    return info


@pytest.fixture(scope="session")
def sign_in() -> Callable[..., SessionInfo]:
    """``sign_in(client, role="manager")``: the client acts as a signed-in person from then on."""
    return sign_in_client


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql; "
            "install them (apt-get install postgresql) or set KB_TEST_POSTGRES_URL"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_database(server_url: str) -> str:
    import psycopg

    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _upgraded(url: str, data_dir: Path) -> str:
    """``url`` at this build's schema, as an operator leaves it after `kb db upgrade`.

    On PostgreSQL the knowledge base refuses a database with pending migrations (kb/db.py).
    """
    from kb.db import open_engine, upgrade_database

    engine = open_engine(Settings(data_dir=data_dir, database_url=url))
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def empty_postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server for each test."""
    return _create_database(postgres_server)


@pytest.fixture
def postgres_url(empty_postgres_url: str, tmp_path: Path) -> str:
    """A fresh database at this build's schema (see ``_upgraded``)."""
    return _upgraded(empty_postgres_url, tmp_path / "pg-data")


@pytest.fixture(scope="session")
def new_postgres_url(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., str]:
    """``new_postgres_url(empty=False)``: another fresh database each call, upgraded unless
    ``empty``; for tests that need several (a knowledge base and the one it is restored into)."""

    def make(empty: bool = False) -> str:
        url = _create_database(postgres_server)
        return url if empty else _upgraded(url, tmp_path_factory.mktemp("pg-data"))

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL (started only when needed)."""
    return str(request.param)


@pytest.fixture
def make_db_kb(
    backend: str, make_kb: Callable[..., KnowledgeBase], request: pytest.FixtureRequest
) -> Callable[..., KnowledgeBase]:
    """``make_kb`` on ``backend``'s database: each call a fresh one (the embedding cache shared)."""

    new_url = request.getfixturevalue("new_postgres_url") if backend == "postgresql" else None

    def factory(**overrides: object) -> KnowledgeBase:
        if new_url is not None and "database_url" not in overrides:
            overrides["database_url"] = new_url()
        return make_kb(**overrides)

    return factory


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL: $KB_TEST_POSTGRES_URL, or a throw-away cluster started here."""
    if url := os.environ.get("KB_TEST_POSTGRES_URL"):
        yield url
        return
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    # initdb refuses to run as root; run the server as the postgres system user then.
    as_user: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "kb", "--auth=trust", "-E", "UTF8")
    run(
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
        "start",
    )  # fmt: skip
    try:
        # pg_ctl -w has waited until the server accepts connections.
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kb", "assistkb")
        yield f"postgresql+psycopg://kb@127.0.0.1:{port}/assistkb"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Milvus: $KB_TEST_MILVUS_SERVER (a server's URI), or a Milvus Lite for the session,
    a file whose server runs inside this process (started by the first client, stopped at
    exit). Every Milvus test shares it, apart by collection names and prefixes."""
    if server := os.environ.get("KB_TEST_MILVUS_SERVER"):
        return server
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")
