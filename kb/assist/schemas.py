"""The suggest request (a conversation and the customer) and its response."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kb.retrieval.schemas import Degraded, Filters, Source
from kb.types import (
    CollectionName,
    Confidence,
    DisplayScript,
    Handling,
    Role,
    SentimentLabel,
    Strict,
)

# Not a setting: a side panel shows three answers and folds the rest; twenty is plenty.
MAX_SUGGEST_LIMIT = 20


class TurnIn(Strict):
    role: Role
    # The longest turn is a setting (KB_MAX_MESSAGE_CHARS), checked by the suggest service.
    text: str = Field(description="At most KB_MAX_MESSAGE_CHARS characters (default 5000).")


class SuggestBody(Strict):
    """A conversation, oldest turn first, and what the CRM knows about the customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "conversation": [
                        {"role": "customer", "text": "你好，我的扫地机器人买了五天，不想要了"},
                        {"role": "agent", "text": "您好，请问商品拆封使用过吗？"},
                        {"role": "customer", "text": "没用过。那退货运费谁出？"},
                    ],
                    "customer": {"id": "c-1", "name": "王女士", "tier": "vip", "order_id": "A123"},
                    "display_script": "zh-Hans",
                    "limit": 5,
                }
            ]
        },
    )

    conversation: list[TurnIn] = Field(
        min_length=1, description="Oldest first; at most KB_MAX_TURNS turns (default 200)."
    )
    # Data, not a contract: whatever the CRM knows, used to fill reply variables.
    customer: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    collection: CollectionName | None = Field(
        None, description="Default: KB_DEFAULT_COLLECTION, or a limited caller's first."
    )
    filters: Filters = Field(default_factory=Filters)
    display_script: DisplayScript | None = None
    limit: int = Field(5, ge=1, le=MAX_SUGGEST_LIMIT)


class AnswerOut(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    highlight: str
    score: float
    confidence: Confidence
    source: Source
    due_for_review: bool = Field(
        False, description="Its document is overdue for review: check it before relying on it."
    )


class ReplyOut(BaseModel):
    id: str
    title: str
    text: str
    missing_variables: list[str]


class EscalationReply(BaseModel):
    text: str
    missing_variables: list[str]


class EscalationOut(BaseModel):
    recommended: bool
    level: str | None
    team: str | None
    reasons: list[str]
    steps: list[str]
    reply: EscalationReply | None
    rule_ids: list[str]


class SentimentOut(BaseModel):
    label: SentimentLabel
    score: float
    cues: list[str]


class SuggestResponse(BaseModel):
    suggestion_id: str
    query: str
    answers: list[AnswerOut]
    replies: list[ReplyOut]
    escalation: EscalationOut
    handling: Handling
    sentiment: SentimentOut
    took_ms: float
    degraded: Degraded | None = Field(
        None,
        description=(
            "Set when the embedder could not embed this turn (`embedder_unavailable`: the "
            "embedding server is down, slow or broken): the answers are keyword matches, "
            "replies offered only where the turn names a cue, escalation rules matched by "
            "their keywords but not by example utterances."
        ),
    )
