"""The vocabulary of the domain, defined once: literals that the API, the CLI, the pages and the
services share, and the strict base of every request body."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

DocType = Literal["manual", "faq", "policy", "reply"]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)

FileStatus = Literal["ingested", "unchanged", "failed"]

SearchMode = Literal["hybrid", "bm25", "vector"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)

Confidence = Literal["high", "medium", "low"]

Handling = Literal["self_service", "agent", "expert"]

Role = Literal["customer", "agent"]

# Who a person is to AssistKB (a conversation's side is ``Role``); each includes the one before.
UserRole = Literal["agent", "manager", "admin"]
USER_ROLES: tuple[UserRole, ...] = get_args(UserRole)

# What an API key may do.
Scope = Literal["search", "suggest", "feedback", "documents:read", "documents:write", "embed"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

SentimentLabel = Literal["negative", "neutral", "positive"]

DisplayScript = Literal["zh-Hans", "zh-Hant"]

Language = Literal["zh-Hans", "zh-Hant", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

FeedbackAction = Literal["shown", "copied", "inserted", "helpful", "not_helpful", "dismissed"]
FEEDBACK_ACTIONS: tuple[FeedbackAction, ...] = get_args(FeedbackAction)


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
