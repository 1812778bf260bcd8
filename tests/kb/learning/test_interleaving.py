"""Team-draft interleaving (kb/learning/interleaving.py): properties of the draft (hypothesis),
who wins a suggestion, the preference and the sign test, and which suggestions take part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.learning.interleaving import (
    outcome,
    preference,
    sign_test,
    takes_part,
    team_draft,
)

ITEMS = st.lists(st.integers(0, 30), unique=True, max_size=12)


@given(a=ITEMS, b=ITEMS, k=st.integers(0, 12), seed=st.text(max_size=16))
def test_the_draft_shows_each_item_once_from_a_or_b_by_the_team_that_picked_it(
    a: list[int], b: list[int], k: int, seed: str
) -> None:
    drafted = team_draft(a, b, k, seed)
    items = [item for item, _ in drafted]
    assert len(items) == len(set(items)) == min(k, len(set(a) | set(b)))
    for item, team in drafted:
        assert item in (a if team == "A" else b)
    # Each team picks its best item not picked before: the prefix of its ranking it has reached.
    for team, ranking in (("A", a), ("B", b)):
        picked = [item for item, t in drafted if t == team]
        for item in picked:
            earlier = ranking[: ranking.index(item)]
            assert set(earlier) <= set(items[: items.index(item)])


@given(a=ITEMS, b=ITEMS, k=st.integers(2, 12), seed=st.text(max_size=16))
def test_both_tops_appear_and_team_sizes_differ_by_at_most_one_while_both_can_pick(
    a: list[int], b: list[int], k: int, seed: str
) -> None:
    drafted = team_draft(a, b, k, seed)
    items = [item for item, _ in drafted]
    if a:
        assert a[0] in items
    if b:
        assert b[0] in items
    # Both rankings hold the same items (one reordered): each can always pick, so the teams
    # stay within one of each other.
    drafted = team_draft(a, list(reversed(a)), k, seed)
    sizes = [sum(1 for _, t in drafted if t == team) for team in ("A", "B")]
    assert abs(sizes[0] - sizes[1]) <= 1


@given(a=ITEMS, b=ITEMS, k=st.integers(0, 12), seed=st.text(max_size=16))
def test_the_draft_is_the_same_for_the_same_suggestion(
    a: list[int], b: list[int], k: int, seed: str
) -> None:
    assert team_draft(a, b, k, seed) == team_draft(list(a), list(b), k, seed)


def test_the_coin_decides_who_picks_first_and_both_teams_lead_for_some_suggestions() -> None:
    firsts = {team_draft([1, 2, 3], [3, 2, 1], 3, f"s{n}")[0] for n in range(40)}
    assert firsts == {(1, "A"), (3, "B")}


def test_an_item_known_by_any_of_its_keys_is_picked_once() -> None:
    # An answer and its twin are one pick whichever of them a ranking shows.
    keys = {"x": ("x", "x-twin"), "x-twin": ("x", "x-twin"), "y": ("y",), "z": ("z",)}
    drafted = team_draft(["x", "y"], ["x-twin", "z"], 4, "s", keys=lambda i: keys[i])
    shown = [item for item, _ in drafted]
    assert len(shown) == 3 and ("x" in shown) != ("x-twin" in shown)


@pytest.mark.parametrize(
    ("used", "expected"),
    [
        ([], None),
        (["elsewhere"], None),  # a reply or an unteamed (pinned) answer compares nothing
        (["a1"], "A"),
        (["b1", "b2", "a1"], "B"),
        (["a1", "b1"], "tie"),
        (["a1", "a1", "b1"], "tie"),  # copied then inserted: one item, one credit
    ],
)
def test_the_team_whose_items_agents_used_more_wins(used: list[str], expected: str | None) -> None:
    teams = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
    assert outcome(teams, used) == expected  # type: ignore[arg-type]


def test_preference_and_sign_test() -> None:
    assert preference(0, 0, 0) == 0.0
    assert preference(6, 2, 2) == pytest.approx(0.4)
    assert preference(1, 5, 0) == pytest.approx(-4 / 6)
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0
    assert sign_test(10, 0) == pytest.approx(2 / 1024)  # two-sided
    assert sign_test(2, 8) == pytest.approx(sign_test(8, 2)) == pytest.approx(112 / 1024)
    assert sign_test(600, 400) < 1e-9  # large counts do not overflow


def test_the_share_of_suggestions_that_take_part_is_fixed_by_their_ids() -> None:
    ids = [f"{n:016x}" for n in range(2000)]
    assert not any(takes_part(i, 0.0) for i in ids)
    assert all(takes_part(i, 1.0) for i in ids)
    chosen = [i for i in ids if takes_part(i, 0.25)]
    assert 400 < len(chosen) < 600
    assert chosen == [i for i in ids if takes_part(i, 0.25)]  # the same ids every time
    assert set(chosen) <= {i for i in ids if takes_part(i, 0.5)}  # a larger share adds ids
