"""The HTTP API fuzzed from its own OpenAPI schema (schemathesis 4), in-process over ASGI.

A small real knowledge base (two collections, the real embedder through the session's embedding
cache) and an API key with every scope. Each operation gets a bounded, derandomized set of
generated requests, so a run is the same run every time; every 5xx, every answer the schema
does not describe (status, content type or body) fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.settings import Settings
from kb.types import SCOPES
from web.app import create_app

MAX_EXAMPLES = 30  # per operation; README's Reliability section counts what this runs
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FILES = {
    "default": [
        (
            "returns.csv",
            "问题,答案\n退货运费谁出？,非质量问题由顾客承担运费。\n发什么快递？,默认顺丰。\n",
        ),
        ("warranty.md", "# 第1章 保修\n\n整机保修一年，电机和电池保修两年。\n"),
    ],
    "hr": [("leave.txt", "年假每年十天，入职满一年后开始计算。\n")],
}


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> tuple[BaseSchema, dict[str, str]]:
    """The app's schema as a key with every scope reads it (its cases call the app in-process),
    and that key's header."""
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), cache_dir=embedding_cache_dir)
    kb = KnowledgeBase(settings_)  # seeded before the app starts, as an operator's KB would be
    for collection, files in FILES.items():
        items = [IngestItem(name, text.encode()) for name, text in files]
        assert all(r.status != "failed" for r in ingest_items(kb, items, collection=collection))
    key = create_key(kb, name="fuzz", scopes=SCOPES, actor="test").key
    kb.close()
    auth = {"Authorization": f"Bearer {key}"}
    # schemathesis runs the app's lifespan itself (and keeps it for the process).
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(settings_), headers=auth
    ), auth


def _fuzz(operation: APIOperation, mode: GenerationMode, auth: dict[str, str]) -> int:
    """Run ``MAX_EXAMPLES`` derandomized cases of ``operation``; how many ran."""
    ran = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same cases on every run: CI stays stable
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Case) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(headers=auth, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing to break: every value of a bare string path parameter (or of no input) is
        # valid, so negative mode has no case to make. Positive mode always has some.
        if mode is GenerationMode.POSITIVE:
            raise
    return ran


# pytest-9 broke schemathesis' own lazy parametrize (from_fixture); each operation is fuzzed
# here instead, through the same strategies and checks.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_schema_says(
    api_schema: tuple[BaseSchema, dict[str, str]], mode: GenerationMode
) -> None:
    schema, auth = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7  # search, suggest, feedback, documents ×4, healthz
    failures: dict[str, str] = {}
    counts: dict[str, int] = {}
    for operation in operations:
        try:
            counts[operation.label] = _fuzz(operation, mode, auth)
        # Every operation runs; all their failures are reported (schemathesis raises a group).
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)
    print(f"{mode.value}: {sum(counts.values())} cases", counts)  # for the Reliability counts
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
