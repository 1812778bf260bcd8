"""kb/db.py's engines: what the database hands back is what was written, on every server."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from kb.accounts.users import create_user, get_user
from kb.context import KnowledgeBase
from kb.models import as_utc, utcnow


@pytest.mark.postgres
def test_timestamps_stay_utc_on_a_server_in_another_time_zone(
    make_kb: Callable[..., KnowledgeBase], new_postgres_url: Callable[..., str]
) -> None:
    # A contact centre's PostgreSQL often runs in local time: instants must survive that.
    url = new_postgres_url()
    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Shanghai'")
    kb = make_kb(database_url=url)
    before = utcnow()
    create_user(kb, email="agent@assistkb.test", role="agent", actor="cli")
    after = utcnow()
    created = as_utc(get_user(kb, email="agent@assistkb.test").created_at)
    assert before <= created <= after
