"""Request and response bodies of the JSON API (published in the OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from search.types import SearchFilters


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filters(Strict):
    doc_types: list[Literal["manual", "faq", "policy", "reply"]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="A hit must carry all of them.")
    products: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    valid_on: date | None = Field(None, description="Only content valid on this day.")

    def to_search_filters(self) -> SearchFilters:
        return SearchFilters(
            doc_types=tuple(self.doc_types),
            tags=tuple(self.tags),
            products=tuple(self.products),
            languages=tuple(self.languages),
            valid_on=self.valid_on,
        )


class SearchBody(Strict):
    query: str = Field(min_length=1, max_length=2000, examples=["退货运费谁出？"])
    collection: str = "default"
    limit: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "bm25", "vector"] = "hybrid"
    filters: Filters = Field(default_factory=Filters)


class Source(BaseModel):
    document_id: str
    title: str
    version: int
    section: list[str]
    page: int | None


class Scores(BaseModel):
    bm25: float | None
    vector: float | None
    bm25_rank: int | None
    vector_rank: int | None


class SearchHit(BaseModel):
    id: str
    kind: str
    doc_type: str
    question: str | None
    text: str
    highlight: str
    score: float
    scores: Scores
    source: Source


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]
    took_ms: float


class FileResultOut(BaseModel):
    filename: str
    status: Literal["ingested", "unchanged", "failed"]
    document_id: str | None
    version: int | None
    chunks: int
    reason: str | None
    warnings: list[str]


class IngestResponse(BaseModel):
    collection: str
    files: list[FileResultOut]


class TurnIn(Strict):
    role: Literal["customer", "agent"]
    text: str = Field(max_length=100_000)


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
                    "collection": "default",
                    "display_script": "zh-Hans",
                    "limit": 5,
                }
            ]
        },
    )

    conversation: list[TurnIn] = Field(min_length=1, max_length=200)
    customer: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    collection: str = "default"
    filters: Filters = Field(default_factory=Filters)
    display_script: Literal["zh-Hans", "zh-Hant"] | None = None
    limit: int = Field(5, ge=1, le=20)


class AnswerOut(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    highlight: str
    score: float
    confidence: Literal["high", "medium", "low"]
    source: Source


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
    label: Literal["negative", "neutral", "positive"]
    score: float
    cues: list[str]


class SuggestResponse(BaseModel):
    suggestion_id: str
    query: str
    answers: list[AnswerOut]
    replies: list[ReplyOut]
    escalation: EscalationOut
    handling: Literal["self_service", "agent", "expert"]
    sentiment: SentimentOut
    took_ms: float


class FeedbackBody(Strict):
    suggestion_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=128)
    action: Literal["shown", "copied", "inserted", "helpful", "not_helpful", "dismissed"]
    comment: str | None = Field(None, max_length=2000)
