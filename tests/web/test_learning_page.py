"""The console's learning page (/kb/learning): adjustments with evidence, pins and proposals,
reset / pin / approve / unpin buttons; a manager of hr neither sees nor moves finance's; every
user string escaped; in each language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.learning.pins import list_pins, propose_pin
from web.app import create_app

FAQ = (
    "question,answer\n"
    "退货运费谁出？,质量问题退货运费由我们承担，非质量问题由顾客承担。\n"
    "怎么申请退货？,在订单页点击申请退货，填写原因后等待审核。\n"
    "<b>退款</b>多久到账？,退款审核通过后一到三个工作日原路退回。\n"
    "可以换货吗？,签收十五天内质量问题可以换货。\n"
)
AGENTS = [f"user:agent{n}@assistkb.test" for n in range(3)]


def learned_kb(make_kb: Callable[..., KnowledgeBase]) -> tuple[KnowledgeBase, str, str]:
    """finance's agents all insert the third answer, and one proposes the last one."""
    kb = make_kb()
    [done] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection="finance")
    assert done.status == "ingested"
    turn = [Turn(role="customer", text="<script>x</script>退货运费谁出")]
    item = ""
    for agent in AGENTS:
        made = suggest(kb, SuggestInput(conversation=turn, collection="finance", actor=agent))
        item = made.answers[2].id
        record_feedback(kb, suggestion_id=made.suggestion_id, item_id=item, action="inserted",
                        actor=agent)  # fmt: skip
    proposal = propose_pin(kb, readable=None, suggestion_id=made.suggestion_id,
                           item_id=made.answers[-1].id, actor=AGENTS[0])  # fmt: skip
    refresh(kb)
    return kb, item, proposal.id


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_manager_sees_resets_pins_and_approves(
    make_kb: Callable[..., KnowledgeBase], sign_in: Callable[..., Any]
) -> None:
    kb, item, proposal = learned_kb(make_kb)
    with TestClient(create_app(kb.settings)) as client:
        sign_in(client, "manager")
        page = client.get("/kb/learning")
        assert page.status_code == 200
        html = page.text
        assert f'data-item="{item}"' in html and f'data-pin="{proposal}"' in html
        assert "<script>x</script>" not in html and "&lt;script&gt;" in html  # escaped
        assert "<b>退款</b>" not in html
        token = {"csrf_token": csrf(html)}
        intent = re.search(rf'data-item="{item}" data-intent="([0-9a-f]+)"', html)
        assert intent
        pinned = client.post("/kb/learning/pins", data={**token, "collection": "finance",
                             "intent_id": intent.group(1), "item_id": item})  # fmt: skip
        assert pinned.status_code == 200 and "生效中" in pinned.text
        approved = client.post(f"/kb/learning/pins/{proposal}/approve", data=token,
                               headers={"HX-Request": "true"})  # fmt: skip
        assert approved.status_code == 200 and "已批准" in approved.text
        assert "<html" not in approved.text  # HTMX gets the block alone
        again = client.post(f"/kb/learning/pins/{proposal}/approve", data=token)
        assert again.status_code == 422 and "不是待批准的建议" in again.text
        reset = client.post("/kb/learning/reset", data={**token, "intent_id": intent.group(1),
                            "item_id": item})  # fmt: skip
        assert reset.status_code == 200 and f'data-item="{item}"' not in reset.text
        gone = client.post(f"/kb/learning/pins/{proposal}/delete", data=token)
        assert gone.status_code == 200 and f'data-pin="{proposal}"' not in gone.text
        for locale, title in (("en", "Learning from feedback"), ("zh-Hant", "從回饋中學習")):
            client.post("/account/language", data={**token, "locale": locale})
            assert title in client.get("/kb/learning").text
        english = client.get("/kb/learning", headers={"Accept-Language": "en"}).text
        assert "從回饋中學習" in english  # the account's choice wins over the browser's


def test_a_manager_of_another_team_neither_sees_nor_moves_it(
    make_kb: Callable[..., KnowledgeBase], sign_in: Callable[..., Any]
) -> None:
    kb, item, proposal = learned_kb(make_kb)
    with TestClient(create_app(kb.settings)) as client:
        sign_in(client, "manager", email="hr@assistkb.test", collections=["hr"])
        html = client.get("/kb/learning").text
        assert item not in html and proposal not in html
        token = {"csrf_token": csrf(html)}
        for path in (
            f"/kb/learning/pins/{proposal}/approve",
            f"/kb/learning/pins/{proposal}/delete",
        ):
            assert client.post(path, data=token).status_code == 404
        pin = {**token, "collection": "finance", "intent_id": "x", "item_id": item}
        assert client.post("/kb/learning/pins", data=pin).status_code == 404
    assert [p.status for p in list_pins(kb, None)] == ["proposed"]  # untouched
