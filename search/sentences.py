"""Cutting a customer's message into sentences and clauses, and putting chosen ones back.

Shared by the search query budget (``search/query_budget.py``, a long pasted message) and the
suggestion query builder (``kb/assist/selection.py``, a conversation turn): both choose units
of a message and must cut and rejoin them alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# After a sentence end (Chinese or Latin), or at a line break.
SENTENCES = re.compile(r"(?<=[。！？!?；;…])\s*|(?<=[.])\s+|\s*\n+\s*")
# After a comma, an enumeration comma or a colon: the clauses of a run-on sentence.
CLAUSES = re.compile(r"(?<=[，,、：:])\s*")


def join_units(parts: Sequence[str]) -> str:
    """Chosen units in one text: Chinese units run on without spaces; Latin ones need one."""
    out = parts[0]
    for part in parts[1:]:
        out += ("" if out[-1:] in "。！？；…，、：" else " ") + part
    return out


def last_words(unit: str, budget: int, words: re.Pattern[str]) -> str:
    """The end of one over-long unit (where a question usually is), cut between ``words``."""
    found = list(words.finditer(unit))
    if len(found) <= budget:
        return unit
    return unit[found[-budget].start() :].strip()
