"""Pause points (a test hook) are inert unless KB_PAUSE_AT names the point reached."""

from __future__ import annotations

import pytest

from search.pause import PAUSE_POINTS, pause_point, pause_requested


@pytest.mark.parametrize("named", [None, "after-switch"])
def test_a_point_not_named_returns_at_once(
    named: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_PAUSE_AT", raising=False)
    if named:
        monkeypatch.setenv("KB_PAUSE_AT", named)
    pause_point("after-parse")  # would sleep for ever if it paused
    assert pause_requested("after-parse") is False
    assert pause_requested("after-switch") is (named == "after-switch")


def test_every_point_is_listed_once() -> None:
    assert len(PAUSE_POINTS) == len(set(PAUSE_POINTS)) == 9
    assert "mid-embedding" in PAUSE_POINTS
