"""What the learning API, the console and the CLI publish and accept."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from kb.learning_models import LearningPinBase
from kb.types import CollectionName

MAX_PIN_DAYS = 366


class AdjustmentOut(BaseModel):
    """One answer's learned adjustment for one intent, with the evidence behind it."""

    collection: str
    intent_id: str
    intent: str = Field(description="The intent's first query, as logged (redacted).")
    item_id: str
    title: str = Field(description="The answer's question or section title.")
    document_id: str
    document_version: int
    adjustment: float = Field(description="Added to the fused score (at most ±0.05); 0: none.")
    score: float = Field(
        description="Clicks over expected clicks with the prior; 0 below the "
        "minimum of distinct agents."
    )
    clicks: float
    rejections: float
    expected: float = Field(description="Clicks expected where the answer was shown.")
    impressions: float
    agents: int = Field(description="Distinct agents who acted on it.")
    top_agent_share: float = Field(description="The largest share of the evidence one agent gave.")
    events: int
    last_event_at: datetime | None


class PinPublic(LearningPinBase):
    id: str
    intent: str = Field(description="The intent's first query, as logged (redacted).")
    title: str = Field(description="The pinned answer's question or section title.")
    active: bool = Field(description="Approved, not expired, and its document unchanged.")


class PinBody(BaseModel):
    """Pin an answer for an intent: named by its id, or by a query of it."""

    collection: CollectionName | None = None
    item_id: str = Field(min_length=1, max_length=128)
    intent_id: str | None = Field(default=None, max_length=32)
    query: str | None = Field(default=None, max_length=2000)
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_PIN_DAYS)


class ProposalBody(BaseModel):
    """An agent's "this was the answer" for the query of one of their suggestions."""

    suggestion_id: str = Field(min_length=1, max_length=32)
    item_id: str = Field(min_length=1, max_length=128)


class ResetBody(BaseModel):
    """Forget the evidence for one answer of an intent, or for all of its answers."""

    collection: CollectionName | None = None
    intent_id: str = Field(min_length=1, max_length=32)
    item_id: str | None = Field(default=None, max_length=128)


class ResetOut(BaseModel):
    collection: str
    intent_id: str
    item_id: str | None
    at: datetime


class InterleavingOut(BaseModel):
    """The online check of learning for one collection and period (team-draft interleaving)."""

    collection: str
    start: date
    end: date
    suggestions: int = Field(
        description="Interleaved suggestions (the learned and the unlearned ranking differed)."
    )
    compared: int = Field(description="Of them, those whose answers agents used (a comparison).")
    wins_a: int = Field(description="Agents used more answers of ranking A (with learning).")
    wins_b: int = Field(description="Agents used more answers of ranking B (without learning).")
    ties: int
    preference: float = Field(
        description="Δ = (wins A − wins B) / (wins A + wins B + ties); above 0 agents prefer A."
    )
    p_value: float = Field(description="Two-sided binomial sign test on the wins (ties left out).")
    significant: bool = Field(description="p < 0.05.")
