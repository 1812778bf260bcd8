"""The vocabulary of the domain, defined once: literals that the API, the CLI, the pages and the
services share, and the strict base of every request body."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

DocType = Literal["manual", "faq", "policy", "reply"]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)

FileStatus = Literal["ingested", "unchanged", "failed"]
FILE_STATUSES: tuple[FileStatus, ...] = get_args(FileStatus)

JobStatus = Literal["queued", "running", "done", "failed"]

SearchMode = Literal["hybrid", "bm25", "vector"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)

Confidence = Literal["high", "medium", "low"]

Handling = Literal["self_service", "agent", "expert"]
HANDLINGS: tuple[Handling, ...] = get_args(Handling)

Role = Literal["customer", "agent"]

SentimentLabel = Literal["negative", "neutral", "positive"]

DisplayScript = Literal["zh-Hans", "zh-Hant"]

Language = Literal["zh-Hans", "zh-Hant", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

FeedbackAction = Literal["shown", "copied", "inserted", "helpful", "not_helpful", "dismissed"]
FEEDBACK_ACTIONS: tuple[FeedbackAction, ...] = get_args(FeedbackAction)
# The actions that judge an item (thumbs up / down), as opposed to using it.
RATINGS: tuple[FeedbackAction, ...] = ("helpful", "not_helpful")


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
