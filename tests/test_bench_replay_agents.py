"""The learning replay's simulated agents: seeded, paraphrases held apart from training, clicks
biased by position, attackers aiming at a wrong answer."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.replay_agents import (
    REWRITES,
    SCENARIOS,
    Agents,
    AgentTurn,
    Intent,
    Paraphrase,
    build_intents,
    rewrite,
    split_intents,
    turns,
)

# Invented for these tests (never the evaluation sets' queries).
QUERIES = [
    {"id": "a1", "query": "怎么修改登录密码？", "relevant_ids": ["p-pass"]},
    {"id": "a2", "query": "登录密码忘了怎么办？", "relevant_ids": ["p-pass"]},
    {"id": "a3", "query": "密码能改成别的吗？", "relevant_ids": ["p-pass"]},
    {"id": "b1", "query": "发票在哪里开？", "relevant_ids": ["p-invoice"]},
    {"id": "c1", "query": "会员可以退款吗？", "relevant_ids": ["p-refund", "p-vip"]},
]
TWINS = {"a1": "怎麼修改登入密碼？", "b1": "發票在哪裡開？", "c1": "會員可以退款嗎？"}
SHOWN = [(f"chunk-{n}", f"p-{n}") for n in range(1, 10)]


def test_intents_group_by_answer_and_never_train_on_a_paraphrase() -> None:
    intents = build_intents(QUERIES, TWINS, seed=7)
    assert intents == build_intents(list(reversed(QUERIES)), TWINS, seed=7)
    by_answer = {intent.relevant: intent for intent in intents}
    assert set(by_answer) == {
        frozenset({"p-pass"}),
        frozenset({"p-invoice"}),
        frozenset({"p-refund", "p-vip"}),
    }
    password = by_answer[frozenset({"p-pass"})]
    originals = {"怎么修改登录密码？", "登录密码忘了怎么办？", "密码能改成别的吗？"}
    # Two of the three dev queries train, one is held apart; each side gets its own framing.
    assert len(originals & set(password.training)) == 2
    assert [p.kind for p in password.paraphrases if p.text in originals] == ["original"]
    for intent in intents:
        trained = set(intent.training)
        assert not trained & {p.text for p in intent.paraphrases}
        assert {p.kind for p in intent.paraphrases} >= {"rewrite"}
        assert not _frames(trained) & _frames({p.text for p in intent.paraphrases})
    invoice = by_answer[frozenset({"p-invoice"})]
    assert Paraphrase("發票在哪裡開？", "script") in invoice.paraphrases
    assert "发票在哪里开？" in invoice.training


def _frames(texts: set[str]) -> set[str]:
    """The rewrite templates that made any of ``texts`` from one of the invented queries."""
    bases = [str(q["query"]) for q in QUERIES] + list(TWINS.values())
    return {t for t in REWRITES for b in bases if rewrite(b, t) in texts}


def test_another_seed_splits_differently_but_the_same_seed_does_not() -> None:
    splits = {
        seed: [(i.training, i.paraphrases) for i in build_intents(QUERIES, TWINS, seed)]
        for seed in range(6)
    }
    assert splits[3] == [(i.training, i.paraphrases) for i in build_intents(QUERIES, TWINS, 3)]
    assert len({repr(s) for s in splits.values()}) > 1


def test_seen_and_unseen_intents_are_disjoint_and_too_many_is_an_error() -> None:
    intents = build_intents(QUERIES, TWINS, seed=1)
    seen, unseen = split_intents(intents, 2, 1, seed=1)
    assert len(seen) == 2 and len(unseen) == 1
    assert not {i.key for i in seen} & {i.key for i in unseen}
    with pytest.raises(ValueError, match="only 3 exist"):
        split_intents(intents, 3, 1, seed=1)


def _intent(relevant: str = "p-3") -> Intent:
    return Intent("k", frozenset({relevant}), ("问题",), (Paraphrase("问题吗", "rewrite"),))


def _clicks(scenario: str, agent: str, n: int, shown: list[tuple[str, str]] = SHOWN) -> list:
    agents = Agents(SCENARIOS[scenario], seed=5)
    return [agents.clicks(AgentTurn(i, _intent(), "问题", agent), shown) for i in range(n)]


def test_the_same_seed_clicks_the_same() -> None:
    honest = "user:agent01@replay.test"
    assert _clicks("noisy", honest, 200) == _clicks("noisy", honest, 200)
    stream = turns(SCENARIOS["colluders"], [_intent()], seed=5)
    again = turns(SCENARIOS["colluders"], [_intent()], seed=5)
    assert [next(stream).agent for _ in range(50)] == [next(again).agent for _ in range(50)]


def test_clean_agents_click_only_the_relevant_answer_more_often_when_it_ranks_higher() -> None:
    honest = "user:agent02@replay.test"
    at_rank_3 = [c for clicks in _clicks("clean", honest, 600) for c in clicks]
    assert {c.item_id for c in at_rank_3} == {"chunk-3"}
    lower = SHOWN[2:] + SHOWN[:2]  # the relevant passage p-3 now at rank 1
    at_rank_1 = [c for clicks in _clicks("clean", honest, 600, lower) for c in clicks]
    assert len(at_rank_1) == 600  # always examined at rank 1, never missed when clean
    assert 140 < len(at_rank_3) < 260  # examined about a third of the time at rank 3


def test_noisy_agents_miss_some_and_click_some_wrong_answers() -> None:
    clicks = [c.item_id for cl in _clicks("noisy", "user:agent03@replay.test", 2000) for c in cl]
    counts = Counter(clicks)
    # The relevant answer at rank 3: examined a third of the time, then missed 30 % of it.
    assert 2000 * 0.7 / 3 * 0.85 < counts["chunk-3"] < 2000 * 0.7 / 3 * 1.15
    # Each wrong answer at rank r: examined 1/r of the time, then clicked 10 % of it.
    for rank in (1, 2, 4):
        expected = 2000 * 0.1 / rank
        assert expected * 0.7 < counts[f"chunk-{rank}"] < expected * 1.3


def test_attackers_click_one_wrong_answer_every_time_and_agree_on_it() -> None:
    agents = Agents(SCENARIOS["colluders"], seed=5)
    seen: list[str] = []
    for n, shown in enumerate([SHOWN, SHOWN[::-1], SHOWN[1:], SHOWN]):
        for attacker in ("user:attacker01@replay.test", "user:attacker03@replay.test"):
            clicks = agents.clicks(AgentTurn(n, _intent(), "问题", attacker), shown)
            assert {c.action for c in clicks} == {"copied", "helpful"}
            seen.extend(c.item_id for c in clicks)
    assert set(seen) == {"chunk-9"}  # the lowest-ranked wrong answer when first met, kept
    # When its target is not shown, an attacker still clicks a wrong answer, never the right one.
    clicks = agents.clicks(
        AgentTurn(9, _intent(), "问题", "user:attacker02@replay.test"), SHOWN[:4]
    )
    assert {c.item_id for c in clicks} == {"chunk-4"}
    assert agents.clicks(AgentTurn(9, _intent("p-1"), "问题", "user:attacker01@replay.test"),
                         SHOWN[:1]) == []  # fmt: skip


def test_scenarios_name_their_accounts() -> None:
    assert len(set(SCENARIOS["clean"].agents)) == 8
    assert sum("attacker" in a for a in SCENARIOS["one_attacker"].agents) == 1
    assert sum("attacker" in a for a in SCENARIOS["colluders"].agents) == 3
