"""The audit log: newest first, limited, and append-only from the application's side."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kb.accounts.audit import list_audit
from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KB_SOURCE = Path(__file__).resolve().parents[3] / "kb"


def test_entries_newest_first_and_limited(db_kb: KnowledgeBase) -> None:
    with session_scope(db_kb.engine) as session:
        for n in range(3):
            record(
                session, actor="cli", action="user.add", target=f"u{n}@example.com",
                detail={"n": n, "名": "王"}, now=T0 + timedelta(minutes=n),
            )  # fmt: skip
    entries = list_audit(db_kb, limit=2)
    assert [e.target for e in entries] == ["u2@example.com", "u1@example.com"]
    assert entries[0].detail == {"n": 2, "名": "王"} and entries[0].at == T0 + timedelta(minutes=2)


def test_a_failed_change_leaves_no_entry(db_kb: KnowledgeBase) -> None:
    with pytest.raises(RuntimeError), session_scope(db_kb.engine) as session:
        record(session, actor="cli", action="key.create", target="akb_x")
        raise RuntimeError("the change failed")
    assert list_audit(db_kb) == []


def test_nothing_in_kb_updates_or_deletes_audit_rows() -> None:
    """Append-only: the only code that names the table inserts and reads."""
    users = {
        path.relative_to(KB_SOURCE).as_posix(): path.read_text("utf-8")
        for path in KB_SOURCE.rglob("*.py")
        if "AuditEntry" in path.read_text("utf-8")
    }
    assert set(users) == {"models.py", "audit.py", "accounts/audit.py", "accounts/schemas.py"}
    writes = re.compile(r"\b(update|delete)\(\s*AuditEntry|session\.delete\(")
    assert not [name for name, text in users.items() if writes.search(text)]
