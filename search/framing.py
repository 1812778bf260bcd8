"""The words customers wrap a question in: greetings, "I'd like to ask", thanks, "please reply".

They say nothing about what is asked, yet two short questions that share a framing share much of
their text: "您好，想咨询一下会员怎么续费？" and "您好，想咨询一下积分怎么兑换？" overlap in 40 % of
their character bigrams, nearly all of them the framing. Comparing queries by their words
(kb/learning/intents.py) takes the framing out first (``without_framing``); picking what of a
long message to search with (kb/assist/selection.py) drops clauses that are only ``META``.
Words that may name the topic ("回复率", "客服电话") are not framing.

Patterns are written for folded text (search/normalize.py: Simplified script, lower case), and
the longer phrase of two that overlap comes first, so it is the one taken out.
"""

from __future__ import annotations

import re

# Asking for speed, thanks, apologies: no words about the problem.
META = re.compile(
    "麻烦|麻煩|尽快|盡快|回复|回覆|谢谢|謝謝|感谢|感謝|辛苦|拜托|拜託|"
    r"\bplease\b|\bthanks?\b|\bthank you\b|\blet me know\b|\basap\b|\bquickly\b|\bsorry\b",
    re.I,
)

_FRAMING_ZH = (
    "你好", "您好", "哈喽", "哈啰", "在吗", "在不在", "亲爱的",
    "我想咨询一下", "我想咨询下", "我想咨询", "想咨询一下", "想咨询下", "想咨询", "咨询一下",
    "咨询下", "我想问问", "我想问一下", "我想问下", "我想问", "想问问", "想问一下", "想问下",
    "请问一下", "请问下", "请问", "问一下", "问下", "我想了解一下", "想了解一下", "了解一下",
    "我想知道", "想知道", "能告诉我", "告诉我一下", "告诉我", "帮我看看", "帮我看下", "一下",
    "谢谢你", "谢谢", "多谢", "感谢", "麻烦你了", "麻烦了", "麻烦", "辛苦了", "在线等",
)  # fmt: skip
_FRAMING_EN = (
    "hello", "hi", "hey", "good morning", "good afternoon", "good evening", "i would like to know",
    "i'd like to know", "i want to know", "i would like to ask", "i'd like to ask",
    "i want to ask", "i have a question", "can you tell me", "could you tell me",
    "can you help me", "could you help me", "please", "thank you", "thanks", "sorry",
)  # fmt: skip
FRAMING = re.compile(
    "|".join(
        [re.escape(p) for p in sorted(_FRAMING_ZH, key=len, reverse=True)]
        + [rf"\b{re.escape(p)}\b" for p in sorted(_FRAMING_EN, key=len, reverse=True)]
    ),
    re.I,
)


def without_framing(folded: str) -> str:
    """``folded`` text with its framing words taken out; the text itself if nothing else is
    left (a question that is only "你好" is still that question)."""
    rest = FRAMING.sub(" ", folded)
    return rest if any(ch.isalnum() for ch in rest) else folded
