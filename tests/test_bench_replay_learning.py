"""The learning replay harness on a tiny invented knowledge base: agents go through the real
suggest and feedback paths under their own accounts, measuring never feeds what is learned, and a
seeded run repeats itself."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlmodel import select

from bench.query_vectors import stored_queries
from bench.replay_agents import SCENARIOS, Agents, build_intents, split_intents, turns
from bench.replay_learning import (
    Replay,
    ingest_base,
    merge,
    queries_of,
    run_scenario,
    work_through,
)
from bench.replay_plot import svg
from kb.db import session_scope
from kb.models import FeedbackRecord, SuggestionLog
from kb.settings import Settings

PASSAGES = {
    "p-pass": ("修改登录密码", "在设置-账号安全里点修改密码，输入旧密码和新密码即可。"),
    "p-invoice": ("开具发票", "订单完成后在订单详情页点申请发票，电子发票一天内发到邮箱。"),
    "p-refund": ("会员退款", "会员开通七天内未使用权益可以全额退款，超过七天不退。"),
    "p-phone": ("更换手机号", "在个人资料里点手机号，验证旧号码后填写新号码。"),
    "p-ship": ("发货时间", "现货商品下单后四十八小时内发货，预售商品按页面时间发货。"),
    "p-close": ("注销账号", "注销前请先结清订单，在账号安全里申请注销，七天后生效。"),
}
QUERIES = [
    {"id": "q1", "query": "密码怎么改？", "relevant_ids": ["p-pass"]},
    {"id": "q2", "query": "发票去哪里申请？", "relevant_ids": ["p-invoice"]},
    {"id": "q3", "query": "会员能退钱吗？", "relevant_ids": ["p-refund"]},
    {"id": "q4", "query": "手机号换了怎么改？", "relevant_ids": ["p-phone"]},
]
TWINS = {
    "q1": "密碼怎麼改？",
    "q2": "發票去哪裡申請？",
    "q3": "會員能退錢嗎？",
    "q4": "手機號換了怎麼改？",
}


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Replay:
    root = tmp_path_factory.mktemp("replay")
    corpus = root / "corpus.jsonl"
    lines = [
        json.dumps({"id": pid, "title": title, "text": text}, ensure_ascii=False)
        for pid, (title, text) in PASSAGES.items()
    ]
    corpus.write_text("\n".join(lines) + "\n", "utf-8")
    settings = Settings(cache_dir=embedding_cache_dir, database_url=None)
    embedder = stored_queries(settings)
    passages = ingest_base(settings, embedder, corpus, root / "base")
    seen, unseen = split_intents(build_intents(QUERIES, TWINS, seed=3), 3, 1, seed=3)
    return Replay(settings, embedder, root / "base", root, passages, seen, unseen, seed=3)


def test_agents_feed_the_real_feedback_path_under_their_own_accounts(
    replay: Replay, tmp_path: Path
) -> None:
    shutil.copytree(replay.base, tmp_path, dirs_exist_ok=True)
    scenario = SCENARIOS["colluders"]
    kb = replay.open(tmp_path)
    try:
        done, feedback = work_through(
            replay, kb, turns(scenario, replay.seen, 3), Agents(scenario, 3), 40
        )
        with session_scope(kb.engine) as session:
            logged = session.exec(select(SuggestionLog)).all()
            rows = session.exec(select(FeedbackRecord)).all()
            by_suggestion = {row.id: row for row in logged}
            records = [(r.actor, r.item_id, r.rank, by_suggestion[r.suggestion_id]) for r in rows]
    finally:
        kb.close()
    assert done == 40 and len(logged) == 40 and feedback == len(records) > 0
    assert len({actor for actor, *_ in records}) >= 4  # several distinct accounts
    training = {q: i for i in replay.seen for q in i.training}
    attacks = 0
    for actor, item, rank, suggestion in records:
        assert suggestion.actor == actor and rank is not None  # who asked is who clicked
        intent = training[suggestion.conversation[0]["text"]]
        if "attacker" in str(actor):
            attacks += 1
            assert replay.passages[item] not in intent.relevant
    assert attacks > 0


def test_a_seeded_run_repeats_itself_and_measuring_feeds_nothing(replay: Replay) -> None:
    baseline = replay.measure(replay.base)
    paraphrases = {p.text for i in replay.seen for p in i.paraphrases}
    assert not paraphrases & {q for i in replay.seen for q in i.training}
    assert baseline["paraphrases"]["queries"] == len(paraphrases)
    assert set(baseline["unseen_rankings"]) == set(queries_of(replay.unseen[0]))
    runs = [
        run_scenario(replay, SCENARIOS["one_attacker"], (5, 20), baseline, budget_s=600)
        for _ in range(2)
    ]
    assert runs[0]["points"] == runs[1]["points"]
    assert [p["events"] for p in runs[0]["points"]] == [0, 5, 20]
    assert runs[0]["points"][-1]["feedback"] > 0
    # Nobody clicked the unseen intent: its rankings are exactly the baseline's.
    assert all(p["unseen_rankings_changed"] == 0 for p in runs[0]["points"])
    # The same logs with KB_LEARNING off rank as before any event.
    off = runs[0]["learning_off_at_end"]
    assert off["events"] == 20 and off["paraphrases"] == runs[0]["points"][0]["paraphrases"]
    kb = replay.open(replay.base)
    try:
        with session_scope(kb.engine) as session:
            assert session.exec(select(SuggestionLog)).all() == []  # measured on copies only
    finally:
        kb.close()


def test_a_checkpoint_beyond_the_time_budget_is_cut_and_said_so(replay: Replay) -> None:
    baseline = replay.measure(replay.base)
    run = run_scenario(replay, SCENARIOS["clean"], (3, 100_000), baseline, budget_s=60)
    assert run["cut_for_time"] == [100_000]
    assert [p["events"] for p in run["points"]] == [0, 3]


def test_the_plot_is_an_svg_with_a_line_per_scenario() -> None:
    point = {"paraphrases": {"mrr@10": 0.5}, "unseen": {"mrr@10": 0.4}}
    result = {
        "set": "t<ara>",
        "learning": "absent",
        "scenarios": {
            name: {"points": [{"events": e, **point} for e in (0, 10, 100)]}
            for name in ("clean", "noisy")
        },
    }
    root = ET.fromstring(svg(result))
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 4  # paraphrases and unseen intents, per scenario
    assert "t<ara>" in "".join(root.itertext())  # escaped, then parsed back


def test_runs_of_other_scenarios_merge_in_scenario_order_and_only_when_alike() -> None:
    common = {"set": "s", "seed": 1, "learning": "on", "intents": {"seen": 2}, "chunks": 6}
    common |= {"depth": 10, "checkpoints": [10]}
    parts = [
        {**common, "scenarios": {"colluders": {"points": []}}, "wall_s": 5.0},
        {**common, "scenarios": {"clean": {"points": []}}, "wall_s": 7.0},
    ]
    merged = merge(parts)
    assert list(merged["scenarios"]) == ["clean", "colluders"]
    assert merged["wall_s"] == 7.0 and merged["runs_side_by_side"] == 2
    with pytest.raises(ValueError, match="seed"):
        merge([parts[0], {**parts[1], "seed": 2}])
