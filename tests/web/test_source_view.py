"""Sources at hand for agents (issue 16, point 2): ``/assist/sources/{chunk_id}`` and
``GET /api/v1/sources/{chunk_id}`` for every kind of caller across two collections, and the
panel's citations leading there, on both databases (real app, ingestion, embedder and index)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from fastapi import FastAPI
from fastapi.testclient import TestClient
from source_files import PAGES, manual_pdf

from kb.accounts.embed import mint_embed_token
from kb.accounts.keys import authenticate_key, create_key
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.settings import Settings
from web.app import create_app

HX = {"HX-Request": "true"}
FINANCE = "问题,答案\n報銷多久到帳？,審批通過後五個工作日內打款到工資卡，軟體自動通知。\n"
UNKNOWN = "0123456789abcdef"
SignIn = Callable[..., Any]
Caller = Callable[[str], tuple[TestClient, dict[str, str]]]
CALLERS = ["agent", "agent-all", "manager", "embed", "key:search", "key:other", "anonymous"]


@dataclass(frozen=True)
class World:
    app: FastAPI
    hr: list[str]  # the manual's chunk ids, in document order
    finance: str
    keys: dict[str, str]
    token: str  # an embedded agent's, limited to hr

    @property
    def kb(self) -> KnowledgeBase:
        kb: KnowledgeBase = self.app.state.kb
        return kb


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
) -> Iterator[World]:
    """`hr` holds a five-page manual, `finance` an FAQ; keys and a token limited to `hr`."""
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("new_postgres_url")()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("source-view"),
        cache_dir=embedding_cache_dir,
        **overrides,  # type: ignore[arg-type]
    )
    app = create_app(settings, warm=False)
    with TestClient(app):
        kb: KnowledgeBase = app.state.kb
        ingest_items(kb, [IngestItem("manual.pdf", manual_pdf(), DocumentMeta())], collection="hr")
        faq = IngestItem("finance.csv", FINANCE.encode(), DocumentMeta(doc_type="faq"))
        ingest_items(kb, [faq], collection="finance")
        chunks = {
            d.collection: [c.id for c in get_document(kb, d.id).chunks]
            for d in list_documents(kb, DocumentQuery())
        }
        keys = {
            scope: create_key(kb, name=scope, scopes=scopes, collections=["hr"], actor="t").key
            for scope, scopes in (
                ("search", ["search"]),
                ("other", ["suggest", "feedback", "documents:read"]),  # all but search
                ("embed", ["embed"]),
            )
        }
        issuer = authenticate_key(kb, bearer=keys["embed"])
        assert issuer is not None
        token = mint_embed_token(kb, issuer=issuer, agent="agent-7").token
        yield World(app, chunks["hr"], chunks["finance"][0], keys, token)


@pytest.fixture
def as_caller(world: World, sign_in: SignIn) -> Caller:
    """``as_caller(name)``: a client acting as one of CALLERS, and the headers it sends."""
    return partial(_client, world, sign_in)


def _client(world: World, sign_in: SignIn, caller: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(world.app, follow_redirects=False)
    if caller in ("agent", "manager"):
        sign_in(client, caller, email=f"hr-{caller}@assistkb.test", collections=["hr"])
    elif caller == "agent-all":
        sign_in(client, "agent", email="agent@assistkb.test")
    elif caller == "embed":  # as app.js sends it from the embedded panel: no cookie at all
        return client, {"X-Embed-Token": world.token, **HX}
    elif caller.startswith("key:"):
        return client, {"Authorization": f"Bearer {world.keys[caller[4:]]}"}
    return client, {}


# (own hr chunk, finance chunk, unknown id): what each caller gets on the page and the API.
PAGE = {
    "agent": (200, 404, 404),
    "agent-all": (200, 200, 404),
    "manager": (200, 404, 404),
    "embed": (200, 404, 404),
    "key:search": (403, 403, 403),  # a page is for people; keys have no role
    "key:other": (403, 403, 403),
    "anonymous": (303, 303, 303),  # to the login form
}
API = {
    "agent": (200, 404, 404),  # the agent's role grants the scope search
    "agent-all": (200, 200, 404),
    "manager": (200, 404, 404),
    "embed": (401, 401, 401),  # off the panel a token is no credential
    "key:search": (200, 404, 404),
    "key:other": (403, 403, 403),  # refused for the scope before any lookup: nothing leaks
    "anonymous": (401, 401, 401),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_reads_exactly_the_passages_of_its_collections(
    world: World, as_caller: Caller, caller: str
) -> None:
    client, headers = as_caller(caller)
    targets = (world.hr[2], world.finance, UNKNOWN)
    got_page = tuple(
        client.get(f"/assist/sources/{t}", headers=headers).status_code for t in targets
    )
    got_api = tuple(
        client.get(f"/api/v1/sources/{t}", headers=headers).status_code for t in targets
    )
    assert (got_page, got_api) == (PAGE[caller], API[caller])


@pytest.mark.parametrize("caller", ["agent", "manager", "embed", "key:search"])
def test_another_teams_passage_is_word_for_word_the_404_of_an_unknown_id(
    world: World, as_caller: Caller, caller: str
) -> None:
    client, headers = as_caller(caller)
    path = "/api/v1/sources/" if caller.startswith("key:") else "/assist/sources/"
    other = client.get(path + world.finance, headers=headers)
    unknown = client.get(path + UNKNOWN, headers=headers)
    assert other.status_code == unknown.status_code == 404
    assert other.text.replace(world.finance, "ID") == unknown.text.replace(UNKNOWN, "ID")
    assert FINANCE.split("\n")[1].split(",")[0] not in other.text


def test_the_api_gives_the_passage_its_neighbours_title_version_section_and_page(
    world: World, as_caller: Caller
) -> None:
    client, headers = as_caller("key:search")
    body = client.get(f"/api/v1/sources/{world.hr[2]}", headers=headers).json()
    assert set(body) == {"document", "passage", "before", "after", "more_before", "more_after"}
    assert body["document"]["collection"] == "hr" and body["document"]["version"] == 1
    assert body["passage"]["section"] == ["3 Storage"] and body["passage"]["page"] == 3
    assert PAGES[2][1] in body["passage"]["text"]
    assert [p["page"] for p in body["before"]] == [1, 2]
    assert [p["page"] for p in body["after"]] == [4, 5]
    narrow = client.get(f"/api/v1/sources/{world.hr[2]}?around=0", headers=headers).json()
    assert (narrow["before"], narrow["after"], narrow["more_before"]) == ([], [], True)


def test_the_api_converts_to_the_asked_script_and_refuses_bad_parameters(
    world: World, as_caller: Caller
) -> None:
    client, headers = as_caller("agent-all")
    path = f"/api/v1/sources/{world.finance}"
    stored = client.get(path, headers=headers).json()["passage"]["text"]
    simplified = client.get(f"{path}?display_script=zh-Hans", headers=headers).json()
    assert "軟體" in stored and "软件" in simplified["passage"]["text"]
    for query, field in (("around=11", "around"), ("around=-1", "around"), ("around=x", "around"),
                         ("display_script=klingon", "display_script")):  # fmt: skip
        refused = client.get(f"{path}?{query}", headers=headers)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field


def test_the_openapi_schema_lists_the_routes_error_answers(world: World, as_caller: Caller) -> None:
    client, headers = as_caller("agent")
    schema = client.get("/openapi.json", headers=headers).json()
    route = schema["paths"]["/api/v1/sources/{chunk_id}"]["get"]
    assert {"401", "403", "404", "422", "429"} <= set(route["responses"])
    assert route["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SourceView"
    }


def test_the_page_shows_the_passage_among_its_neighbours_and_only_the_panel(
    world: World, as_caller: Caller
) -> None:
    client, headers = as_caller("agent")
    html = client.get(f"/assist/sources/{world.hr[2]}?around=1", headers=headers).text
    assert "3 Storage" in html and "第 3 页" in html and "v1" in html
    shown = re.findall(r'data-ordinal="(\d+)"', html)
    assert shown == ["1", "2", "3"]
    current = re.search(r'<article class="chunk source-passage current"[^>]*aria-current', html)
    assert current and PAGES[2][1] in html[current.end() :].split("</article>")[0]
    assert "<dialog" not in html  # a page of its own, not the panel's dialog
    assert not re.search(r'href="/kb/', html), "an agent's page links into the console"
    assert 'href="/assist"' in html
    more = re.search(r'<a class="more-link" href="([^"]+)"', html)
    assert more and client.get(more.group(1).replace("&amp;", "&")).status_code == 200


def test_in_the_panel_it_is_a_dialog_whose_buttons_need_no_link(
    world: World, as_caller: Caller
) -> None:
    client, headers = as_caller("embed")
    html = client.get(f"/assist/sources/{world.hr[4]}?around=1", headers=headers).text
    assert html.lstrip().startswith('<dialog class="source-dialog"')
    assert '<form method="dialog"' in html
    assert "href=" not in html  # an embedded panel cannot follow a link: its token is a header
    more = re.search(r'<button [^>]*class="secondary more-link" hx-get="([^"]+)"', html)
    assert more, html
    wider = client.get(more.group(1).replace("&amp;", "&"), headers=headers)
    assert re.findall(r'data-ordinal="(\d+)"', wider.text) == ["0", "1", "2", "3", "4"]


# --- the panel's citations -----------------------------------------------------------------


def _links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'\shref="(/[^"]*)"', html)]


@pytest.mark.parametrize("caller", ["agent", "manager"])
def test_the_panel_links_only_to_pages_its_user_can_open(
    world: World, as_caller: Caller, caller: str
) -> None:
    client, headers = as_caller(caller)
    ask = {"conversation": "How long does the battery last?", "collection": "hr"}
    page = client.get("/assist", headers=headers).text
    suggested = client.post("/assist/suggest", data=ask, headers={**headers, **HX}).text
    found = client.get("/assist/search", params={"q": "battery", "collection": "hr"}, headers=HX)
    cites = re.findall(r'<p class="cite"><a class="source-link" href="([^"]+)"', suggested)
    assert cites and all(c.startswith("/assist/sources/") for c in cites), suggested
    assert re.search(r'class="source-link" href="/assist/sources/\w+\?script=zh-Hans"', found.text)
    links = set(_links(page) + _links(suggested) + _links(found.text))
    assert ("/kb/" in links) == (caller == "manager")  # the console link only for managers
    for link in sorted(links):
        if link.startswith("/static/"):
            continue
        response = client.get(link, headers=headers)
        assert response.status_code in (200, 303), f"{caller}: {link} → {response.status_code}"
        if response.status_code == 303:  # /kb/ leads on to the documents
            assert response.headers["location"] == "/kb/documents"


def test_an_embedded_panels_citations_are_buttons_that_open_in_it(
    world: World, as_caller: Caller
) -> None:
    client, headers = as_caller("embed")
    ask = {"conversation": "How long does the battery last?"}  # its first collection: hr
    html = client.post("/assist/suggest", data=ask, headers=headers).text
    cites = re.findall(r'<button type="button" class="source-link" hx-get="([^"]+)"', html)
    assert cites, html
    assert "href=" not in html
    opened = client.get(cites[0].replace("&amp;", "&"), headers=headers)
    assert opened.status_code == 200 and "<dialog" in opened.text
    assert "120 minutes" in opened.text or "Battery" in opened.text
