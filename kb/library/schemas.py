"""The library as its services publish it."""

from __future__ import annotations

from kb.models import RuleSetBase


class RuleSetPublic(RuleSetBase):
    """An imported rule file, without its text."""

    id: int
