"""What ``kb check`` found and did, as the CLI prints it (table or ``--json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FindingKind = Literal[
    # database
    "orphan-chunk",  # a chunk whose version is gone
    "chunk-document-mismatch",  # a chunk's document id is not its version's document
    "orphan-version",  # a version whose document is gone
    "missing-current-version",  # a document names a current version that does not exist
    "partial-version",  # a version has fewer or more chunk rows than it says
    # index generations
    "index-missing",  # a collection with documents has no live generation
    "generation-missing",  # CURRENT names a generation that is not on disk (or has no meta)
    "generation-broken",  # the live generation's files cannot be read or disagree
    "generation-incompatible",  # built in another format or with another embedder
    "index-orphan-entry",  # the live generation holds chunks the database does not have
    "generation-stale",  # the live generation is not what the database says is live
    "staging-leftover",  # a half-written generation or pointer left by a killed build
    "generation-abandoned",  # neither live nor the one before it (never switched in, or old)
    "collection-busy",  # another process writes the collection: its index was not checked
    "vectors-missing",  # documents served by keyword only, and no job at work on their vectors
    # jobs
    "job-stuck",  # queued or running, and no live process holds its lease
    # embedding cache
    "cache-unreadable",  # the cache file is not a readable SQLite database
    "cache-format-newer",  # written by a newer build
    "cache-format-older",  # an older format, upgraded in place when opened
    "cache-bad-vector",  # a vector whose size is not the embedder's dimension
]


class Finding(BaseModel):
    """One inconsistency; ``repaired`` says what ``--repair`` did about it (None: nothing)."""

    kind: FindingKind
    subject: str = Field(description="What is affected: a row id, a path, a collection.")
    detail: str
    repairable: bool
    repaired: str | None = None


class CheckReport(BaseModel):
    """Everything found; after ``--repair``, ``remaining`` is what a fresh check still finds."""

    findings: list[Finding]
    repaired: bool = False
    remaining: list[Finding] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.remaining if self.repaired else self.findings)
