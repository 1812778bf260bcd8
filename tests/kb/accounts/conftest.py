"""A knowledge base on SQLite and on PostgreSQL for every accounts test that touches SQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from backends import BACKENDS

from kb.context import KnowledgeBase


@pytest.fixture(params=BACKENDS)
def db_kb(request: pytest.FixtureRequest, make_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    """A fresh knowledge base on each database; small throttle numbers keep argon2 runs few."""
    overrides: dict[str, object] = {"login_address_max_failures": 5}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    return make_kb(**overrides)
