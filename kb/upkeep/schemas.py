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


class DraftEdit(BaseModel):
    """A manager's wording of a draft; a field left out is kept."""

    question: str | None = Field(default=None, max_length=MAX_QUESTION)
    answer: str | None = Field(default=None, max_length=MAX_ANSWER)


class DraftAccept(DraftEdit):
    collection: str | None = Field(
        default=None, description="Where the FAQ entry goes; default: the draft's collection."
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
