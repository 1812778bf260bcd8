"""Analytics on real rows: suggestions by kb.assist.suggest, feedback by kb.insight.feedback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from backends import BACKENDS
from library_files import FAQ, RULES, replies
from sqlmodel import select

from kb.assist.conversation import Turn
from kb.assist.schemas import SuggestResponse
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import delete_document
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.errors import Invalid
from kb.insight.analytics import Period, Report, report
from kb.insight.feedback import record_feedback
from kb.library.store import import_replies, import_rules
from kb.models import FeedbackRecord, SuggestionLog
from kb.settings import Settings

OLD_FAQ = "问题,答案\n可以开发票吗？,可以，下单后在订单页申请电子发票。\n".encode()
REPLIES = replies("shipping-info", "refund-ok", "thanks")
TODAY = datetime.now(UTC).date()


def ask(kb: KnowledgeBase, text: str, collection: str = "default") -> SuggestResponse:
    turn = Turn(role="customer", text=text)
    return suggest(kb, SuggestInput(conversation=[turn], collection=collection))


def age(kb: KnowledgeBase, suggestion_id: str, days: int) -> None:
    """Move a suggestion and its feedback ``days`` into the past (the services stamp 'now')."""
    moment = datetime.now(UTC) - timedelta(days=days)
    with session_scope(kb.engine) as session:
        log = session.get(SuggestionLog, suggestion_id)
        assert log is not None
        log.created_at = moment
        session.add(log)
        feedback = select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        for record in session.exec(feedback):
            record.created_at = moment
            session.add(record)


def seed(kb: KnowledgeBase, collection: str = "default") -> dict[str, SuggestResponse]:
    ingest_items(kb, [IngestItem("faq.csv", FAQ, DocumentMeta())], collection=collection)
    ingest_items(kb, [IngestItem("old.csv", OLD_FAQ, DocumentMeta())], collection=collection)
    import_replies(kb, REPLIES, "replies.yaml")
    import_rules(kb, RULES, "rules.yaml")
    asked = {
        "simplified": ask(kb, "退货运费谁出？", collection),
        "traditional": ask(kb, "退貨運費誰出？", collection),
        "fullwidth": ask(kb, "退货运费谁出?", collection),
        "shipping": ask(kb, "发什么快递？", collection),
        "mars": ask(kb, "火星上今天的天气怎么样", collection),
        "mars2": ask(kb, "火星上今天的天气怎么样", collection),
        "complaint": ask(kb, "我要投诉你们，退货运费谁出", collection),
        "invoice": ask(kb, "可以开发票吗？", collection),
        "old": ask(kb, "保修多久？", collection),
    }
    shipping, invoice = asked["shipping"], asked["invoice"]
    freight = asked["simplified"].answers[0].id

    def feedback(
        result: SuggestResponse, item_id: str, action: str, comment: str | None = None
    ) -> None:
        record_feedback(
            kb,
            suggestion_id=result.suggestion_id,
            item_id=item_id,
            action=action,
            comment=comment,
        )

    feedback(asked["simplified"], freight, "not_helpful", "没说质量问题怎么办")
    feedback(asked["traditional"], freight, "not_helpful")
    feedback(asked["fullwidth"], freight, "helpful")
    feedback(invoice, invoice.answers[0].id, "not_helpful", "发票入口变了")
    feedback(shipping, "shipping-info", "copied")
    feedback(asked["fullwidth"], "refund-ok", "not_helpful")  # offered with the freight answer
    feedback(asked["old"], freight, "not_helpful")
    age(kb, asked["old"].suggestion_id, days=10)  # outside "the last 7 days"
    # A deleted document's chunks no longer exist: its feedback stays, described as unknown.
    delete_document(kb, invoice.answers[0].source.document_id)
    return asked


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
) -> Iterator[tuple[KnowledgeBase, dict[str, SuggestResponse]]]:
    """One seeded knowledge base per database (SQLite, PostgreSQL) for the whole module."""
    data_dir = tmp_path_factory.mktemp("analytics")
    url = request.getfixturevalue("new_postgres_url")() if request.param == "postgresql" else None
    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=embedding_cache_dir, database_url=url))
    yield kb, seed(kb)
    kb.close()


@pytest.fixture(scope="module")
def week(seeded: tuple[KnowledgeBase, dict[str, SuggestResponse]]) -> Report:
    return report(seeded[0], Period.last(7))


def test_questions_are_grouped_by_normalised_text_most_asked_first(week: Report) -> None:
    top = week.top_questions[0]
    # Simplified, Traditional and full-width punctuation are one question, shown as asked most.
    assert (top.normalized, top.count, top.gaps) == ("退货运费谁出?", 3, 0)
    assert top.text in {"退货运费谁出？", "退貨運費誰出？", "退货运费谁出?"}
    assert [q.count for q in week.top_questions] == sorted(
        (q.count for q in week.top_questions), reverse=True
    )
    assert "保修多久?" not in {q.normalized for q in week.top_questions}  # asked 10 days ago


def test_content_gaps_are_low_confidence_questions_most_frequent_first(week: Report) -> None:
    gaps = [(q.normalized, q.gaps) for q in week.content_gaps]
    assert gaps[0] == ("火星上今天的天气怎么样", 2)
    assert "退货运费谁出?" not in dict(gaps)
    assert all(q.gaps >= 1 for q in week.content_gaps)


def test_negative_feedback_names_the_chunk_reply_or_unknown_item(
    seeded: tuple[KnowledgeBase, dict[str, SuggestResponse]], week: Report
) -> None:
    asked = seeded[1]
    freight = asked["simplified"].answers[0].id
    by_id = {n.item_id: n for n in week.negative}
    first = week.negative[0]
    assert (first.item_id, first.not_helpful, first.helpful, first.kind) == (
        freight,
        2,
        1,
        "answer",
    )
    assert first.title == "退货运费谁出？" and "顾客承担运费" in (first.text or "")
    assert first.document_id == asked["simplified"].answers[0].source.document_id
    assert first.comments == ("没说质量问题怎么办",)
    assert set(first.queries) == {"退货运费谁出？", "退貨運費誰出？"}
    reply = by_id["refund-ok"]
    assert (reply.kind, reply.title, reply.not_helpful) == ("reply", "退款受理", 1)
    gone = by_id[asked["invoice"].answers[0].id]
    assert (gone.kind, gone.title, gone.text, gone.comments) == (
        "unknown",
        None,
        None,
        ("发票入口变了",),
    )


def test_unused_replies_exclude_copied_ones_and_count_offers(week: Report) -> None:
    unused = {r.id: r.suggested for r in week.unused_replies}
    assert "shipping-info" not in unused  # copied this week
    assert unused["thanks"] == 0
    assert unused["refund-ok"] >= 3  # offered for the freight question, never used
    assert [r.suggested for r in week.unused_replies] == sorted(unused.values(), reverse=True)


def test_totals_and_daily_series(week: Report) -> None:
    t = week.totals
    assert t.suggestions == 8 and t.questions == 5
    assert t.escalated == 1 and t.escalation_rate == pytest.approx(1 / 8)
    assert sum(t.handling.values()) == 8 and t.handling["expert"] >= 2
    assert (t.feedback["not_helpful"], t.feedback["helpful"], t.feedback["copied"]) == (4, 1, 1)
    assert t.gaps >= 2 and 0 < t.gap_rate < 1
    assert t.p50_ms is not None and t.p95_ms is not None and 0 < t.p50_ms <= t.p95_ms
    assert [d.day for d in week.days] == [TODAY - timedelta(days=n) for n in range(6, -1, -1)]
    today = week.days[-1]
    assert (today.suggestions, today.escalated, today.helpful, today.not_helpful) == (8, 1, 1, 4)
    assert sum(d.suggestions for d in week.days[:-1]) == 0


def test_a_longer_period_includes_older_rows_on_their_day(
    seeded: tuple[KnowledgeBase, dict[str, SuggestResponse]],
) -> None:
    month = report(seeded[0], Period.last(30))
    assert month.totals.suggestions == 9
    assert month.negative[0].not_helpful == 3
    ten_days_ago = {d.day: d for d in month.days}[TODAY - timedelta(days=10)]
    assert (ten_days_ago.suggestions, ten_days_ago.not_helpful) == (1, 1)
    assert report(seeded[0], Period.last(30), collection="elsewhere").totals.suggestions == 0


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Period(date(2025, 3, 2), date(2025, 3, 1)), "end"),
        (lambda: Period(date(2024, 1, 1), date(2025, 6, 1)), "start"),
        (lambda: Period.last(0), "days"),
    ],
)
def test_bad_periods_name_the_field(make: Callable[[], Period], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        make()
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("moment", "tz", "day"),
    [
        (datetime(2025, 3, 1, 17, 30), UTC, date(2025, 3, 1)),  # naive from the database: UTC
        (datetime(2025, 3, 1, 17, 30), timezone(timedelta(hours=8)), date(2025, 3, 2)),
        (datetime(2025, 3, 1, 17, 30, tzinfo=UTC), timezone(timedelta(hours=-5)), date(2025, 3, 1)),
    ],
)
def test_days_are_counted_in_the_period_time_zone(
    moment: datetime, tz: timezone, day: date
) -> None:
    assert Period(date(2025, 3, 1), date(2025, 3, 2), tz).day_of(moment) == day
