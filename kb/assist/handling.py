"""The handling tier of a suggestion: self-service, the agent, or an expert."""

from __future__ import annotations

from kb.assist.schemas import AnswerOut
from kb.assist.sentiment import SentimentResult
from kb.library.escalation import EscalationDecision
from kb.types import Handling

EXPERT_LEVELS = {"tier3", "supervisor", "legal"}
SENSITIVE = {"legal", "regulator", "safety"}


def handling_tier(
    answers: list[AnswerOut],
    covered: bool,
    decision: EscalationDecision,
    feeling: SentimentResult,
) -> Handling:
    """Tiered service: a definite FAQ answer self-serves; the agent handles what the knowledge
    base answers, sure or not (a low badge tells them to check it); an expert takes what the
    rules send up (expert handling, tier3/supervisor/legal), legal, regulator and safety cues,
    and turns nothing relevant answers (no answer, or the top one below the cosine floor).

    A low grade alone is a photo finish between answers, not an unanswerable question: sending
    every such turn to an expert would have agents escalate a third of their conversations.
    """
    if decision.handling == "expert" or (decision.recommended and decision.level in EXPERT_LEVELS):
        return "expert"
    if feeling.categories & SENSITIVE:
        return "expert"
    if not answers or not covered:
        return "expert"
    top = answers[0]
    if (
        top.kind == "faq"
        and top.confidence == "high"
        and not decision.recommended
        and feeling.label != "negative"
    ):
        return "self_service"
    return "agent"
