"""What the upkeep room publishes: drafts, the review queue's numbers, overlaps between entries."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from kb.models import UpkeepDraftBase
from kb.upkeep.gaps import Gap

MAX_QUESTION = 500
MAX_ANSWER = 5000


class DraftPublic(UpkeepDraftBase):
    id: str
    pins: list[str] = Field(
        default_factory=list,
        description="Pins made when it was accepted with pin: one per intent of its gap's queries.",
    )


class DraftEdit(BaseModel):
    """A manager's wording of a draft; a field left out is kept."""

    question: str | None = Field(default=None, max_length=MAX_QUESTION)
    answer: str | None = Field(default=None, max_length=MAX_ANSWER)


class DraftAccept(DraftEdit):
    collection: str | None = Field(
        default=None, description="Where the FAQ entry goes; default: the draft's collection."
    )
    pin: bool = Field(
        default=False,
        description="Also pin the new answer for the intents of the gap's queries: it leads "
        "them until the FAQ changes or the pin expires (422 when KB_LEARNING is off).",
    )


class DraftFromGap(BaseModel):
    gap: str = Field(description="The gap's key, as GET /api/v1/upkeep/gaps lists it.")


@dataclass(frozen=True)
class ReviewStats:
    pending: int
    accepted: int
    rejected: int
    expired: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected + self.expired

    @property
    def approval_rate(self) -> float | None:
        """Accepted among the drafts that left the queue (an expired one was not approved)."""
        return self.accepted / self.decided if self.decided else None


class GapList(BaseModel):
    gaps: list[Gap]


class DraftList(BaseModel):
    drafts: list[DraftPublic]
    pending: int
    accepted: int
    rejected: int
    expired: int
    approval_rate: float | None
