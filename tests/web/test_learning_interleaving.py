"""The online check of learning end to end: suggestions through /api/v1/suggest with
KB_LEARNING_INTERLEAVE on, agents' feedback through /api/v1/feedback on the unlearned ranking's
(B's) answers, and /api/v1/learning/interleaving and the analytics page showing B winning; each
team only its own collections; off (by the share, or by KB_LEARNING), nothing is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from kb.accounts.keys import create_key
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.learning_models import LearningInterleave
from web.app import create_app

FAQ = (
    "question,answer\n"
    "退货运费谁出？,质量问题退货运费由我们承担，非质量问题由顾客承担。\n"
    "怎么申请退货？,在订单页点击申请退货，填写原因后等待审核。\n"
    "退款多久到账？,退款审核通过后一到三个工作日原路退回。\n"
    "可以换货吗？,签收十五天内质量问题可以换货。\n"
)
TEXT = "我想退货，运费谁来出？"
TURN = {"conversation": [{"role": "customer", "text": TEXT}], "limit": 4, "collection": "finance"}
SCOPES = ["search", "suggest", "feedback", "documents:read"]
ROUNDS = 6  # B winning all six: sign test p = 2 / 2**6 = .031


def taught_kb(make_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    """finance and hr hold the same FAQ; finance's agents taught its fourth answer to rise."""
    kb = make_kb(learning_interleave=1.0)
    for collection in ("finance", "hr"):
        [done] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection=collection)
        assert done.status == "ingested"
    turn = [Turn(role="customer", text=TEXT)]
    for n in range(8):
        agent = f"user:agent{n % 4}@assistkb.test"
        made = suggest(kb, SuggestInput(conversation=turn, collection="finance", actor=agent))
        record_feedback(kb, suggestion_id=made.suggestion_id, item_id=made.answers[3].id,
                        action="inserted", actor=agent)  # fmt: skip
    refresh(kb, "finance")  # computes the learned state, giving the query its intent
    return kb


def key(kb: KnowledgeBase, collection: str) -> dict[str, str]:
    made = create_key(kb, name=collection, scopes=SCOPES, collections=[collection], actor="test")
    return {"Authorization": f"Bearer {made.key}"}


def teams(kb: KnowledgeBase, suggestion_id: str) -> dict[str, str]:
    with session_scope(kb.engine) as session:
        row = session.get(LearningInterleave, suggestion_id)
        return dict(row.teams) if row else {}


def recorded(kb: KnowledgeBase) -> int:
    with session_scope(kb.engine) as session:
        return len(session.exec(select(LearningInterleave.suggestion_id)).all())


def test_feedback_on_b_answers_shows_b_winning_each_team_its_own(
    make_kb: Callable[..., KnowledgeBase], sign_in: Callable[..., Any]
) -> None:
    kb = taught_kb(make_kb)
    finance, hr = key(kb, "finance"), key(kb, "hr")
    with TestClient(create_app(kb.settings)) as client:
        served: KnowledgeBase = client.app.state.kb  # type: ignore[attr-defined]
        for _ in range(ROUNDS):
            made = client.post("/api/v1/suggest", json=TURN, headers=finance)
            assert made.status_code == 200, made.text
            body = made.json()
            drafted = teams(served, body["suggestion_id"])
            assert set(drafted) == {a["id"] for a in body["answers"]}
            [b_item, *_] = [a["id"] for a in body["answers"] if drafted[a["id"]] == "B"]
            event = {"suggestion_id": body["suggestion_id"], "item_id": b_item, "action": "copied"}
            assert client.post("/api/v1/feedback", json=event, headers=finance).status_code == 201
            # An agent's "not helpful" on A's answer credits nobody.
            a_item = next(a["id"] for a in body["answers"] if drafted[a["id"]] == "A")
            event = {**event, "item_id": a_item, "action": "not_helpful"}
            assert client.post("/api/v1/feedback", json=event, headers=finance).status_code == 201
        answer = client.get("/api/v1/learning/interleaving?collection=finance", headers=finance)
        assert answer.status_code == 200, answer.text
        [row] = answer.json()
        assert row["collection"] == "finance" and row["suggestions"] == ROUNDS
        assert (row["wins_a"], row["wins_b"], row["ties"], row["compared"]) == (0, ROUNDS, 0, 6)
        assert row["preference"] == -1.0
        assert abs(row["p_value"] - 2 / 2**ROUNDS) < 1e-6 and row["significant"] is True
        # hr sees none of finance's, and may not ask for it.
        assert client.get("/api/v1/learning/interleaving", headers=hr).json() == []
        refused = client.get("/api/v1/learning/interleaving?collection=finance", headers=hr)
        assert refused.status_code == 403
        # The console's analytics page shows the same, in each language.
        sign_in(client, "manager")
        page = client.get("/kb/analytics?range=7")
        assert page.status_code == 200
        assert f'data-collection="finance" data-wins-a="0" data-wins-b="{ROUNDS}"' in page.text
        assert 'data-preference="-1.0"' in page.text and 'data-significant="true"' in page.text
        for locale, words in (("en", "B wins"), ("zh-Hant", "B 勝"), ("zh-Hans", "B 胜")):
            shown = client.get("/kb/analytics", headers={"Accept-Language": locale})
            assert words in shown.text, locale


def test_off_by_the_share_or_by_learning_the_api_records_nothing(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = taught_kb(make_kb)
    finance = key(kb, "finance")
    with TestClient(create_app(kb.settings)) as client:
        served: KnowledgeBase = client.app.state.kb  # type: ignore[attr-defined]
        on = served.settings
        served.settings = on.model_copy(update={"learning_interleave": 0.0})
        learned = client.post("/api/v1/suggest", json=TURN, headers=finance).json()
        served.settings = on.model_copy(update={"learning": False})
        plain = client.post("/api/v1/suggest", json=TURN, headers=finance).json()
        served.settings = on.model_copy(update={"learning": False, "learning_interleave": 0.0})
        again = client.post("/api/v1/suggest", json=TURN, headers=finance).json()
        assert recorded(served) == 0
        ids = [[a["id"] for a in made["answers"]] for made in (learned, plain, again)]
        assert ids[0] != ids[1] == ids[2]  # learning moved an answer; off, search's order
        served.settings = on
        listed = client.get("/api/v1/learning/interleaving", headers=finance).json()
        assert listed == []


def test_bad_periods_get_clear_errors(
    make_kb: Callable[..., KnowledgeBase], sign_in: Callable[..., Any]
) -> None:
    kb = make_kb()
    finance = key(kb, "finance")
    with TestClient(create_app(kb.settings)) as client:
        sign_in(client, "manager")
        last = "range=custom&start=9999-12-31&end=9999-12-31"  # the page's period too
        page = client.get(f"/kb/analytics?{last}", headers={"Accept-Language": "en"})
        assert page.status_code == 422 and "the period ends too late" in page.text
        for query, field in (
            ("start=2026-01-01", "end"),
            ("days=0", "days"),
            ("days=400", "days"),
            ("start=2026-02-01&end=2026-01-01", "end"),
            ("start=yesterday&end=2026-01-01", "start"),
            ("start=9999-12-31&end=9999-12-31", "end"),  # its end would be year 10000
        ):
            answer = client.get(f"/api/v1/learning/interleaving?{query}", headers=finance)
            assert answer.status_code == 422, (query, answer.text)
            assert field in answer.text, (query, answer.text)
