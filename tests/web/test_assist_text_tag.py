"""The text a panel answer is for: X-Suggestion-For, computed alike by the server and app.js."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app
from web.pages.assist import SUGGESTION_FOR, text_tag

APP_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "app.js"
HX = {"HX-Request": "true"}
TEXTS = [
    "",
    "退货运费谁出？",
    "掃地機器人充不進電怎麼辦",
    "客户：你好\n客服：您好\n客户：那运费谁出？",
    "emoji 😀 and a surrogate pair",
    "600*580*820 毫米\t“引号”",
    "长" * 5000,
]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, sign_in: Callable[..., Any]
) -> Iterator[TestClient]:
    """An empty knowledge base: these answers need no search."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("text-tag"))
    with TestClient(create_app(settings, warm=False)) as c:
        sign_in(c)
        yield c


def _js_tags(texts: list[str]) -> list[str]:
    """``textTag`` from app.js itself, run by Node on each text."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript side cannot be run")
    source = APP_JS.read_text(encoding="utf-8")
    match = re.search(r"  function textTag\(text\) \{\n.*?\n  \}\n", source, re.S)
    assert match, "textTag not found in app.js"
    script = f"{match.group(0)}\nconsole.log(JSON.stringify({json.dumps(texts)}.map(textTag)));"
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    tags: list[str] = json.loads(run.stdout)
    return tags


def test_the_server_and_the_panel_tag_a_text_alike() -> None:
    assert _js_tags(TEXTS) == [text_tag(t) for t in TEXTS]
    assert len(set(map(text_tag, TEXTS))) == len(TEXTS)


@pytest.mark.parametrize(
    ("sent", "box"),
    [("a\r\nb", "a\nb"), ("a\rb", "a\nb"), ("退货\n", "退货\n")],
)
def test_line_ends_are_tagged_as_the_box_has_them(sent: str, box: str) -> None:
    assert text_tag(sent) == text_tag(box)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"conversation": "客服：您好\r\n客服：请问有什么可以帮您？"}, 200),  # no customer turn
        ({"conversation": "退货运费谁出？", "contact_count": "many"}, 422),
    ],
)
def test_every_swapped_answer_names_its_text(
    client: TestClient, fields: dict[str, str], status: int
) -> None:
    response = client.post("/assist/suggest", data=fields, headers=HX)
    assert response.status_code == status
    box = fields["conversation"].replace("\r\n", "\n")
    assert response.headers[SUGGESTION_FOR] == text_tag(box)
