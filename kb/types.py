"""The vocabulary of the domain, defined once: literals that the API, the CLI, the pages and the
services share, and the strict base of every request body."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from kb.errors import Invalid
from search.types import COLLECTION_NAME_PATTERN, COLLECTION_NAME_RULE, is_collection_name

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
# What a feedback event's item was in its suggestion (FeedbackRecord.item_kind).
ItemKind = Literal["answer", "reply", "escalation_reply"]

# A draft FAQ entry in the upkeep review queue (kb/upkeep/drafts.py).
DraftStatus = Literal["pending", "accepted", "rejected", "expired"]
DRAFT_STATUSES: tuple[DraftStatus, ...] = get_args(DraftStatus)
# The actions that judge an item (thumbs up / down), as opposed to using it.
RATINGS: tuple[FeedbackAction, ...] = ("helpful", "not_helpful")


def collection_name(value: str) -> str:
    """``value`` if it is a collection name (the rule search/ enforces on disk), else Invalid."""
    if not is_collection_name(value):
        raise Invalid(_collection_problem(value), field="collection")
    return value


def _collection_problem(value: str) -> str:
    return f"collection name {value[:80]!r} must be {COLLECTION_NAME_RULE}"


def _collection_field(value: str) -> str:
    if not is_collection_name(value):
        raise PydanticCustomError("collection_name", _collection_problem(value))
    return value


# The same rule for request bodies and settings, where pydantic reports the field.
CollectionName = Annotated[
    str,
    AfterValidator(_collection_field),
    Field(
        description=f"Collection: {COLLECTION_NAME_RULE}.",
        json_schema_extra={"pattern": f"^{COLLECTION_NAME_PATTERN}$"},
    ),
]


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped, and all text is text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        # JSON can spell a lone surrogate ("\ud800"); it is no character, and echoed in a reply
        # it would break the response's UTF-8, so it is refused where it enters.
        if where := _surrogate_at(value):
            raise PydanticCustomError(
                "lone_surrogate",
                "text{where} contains a lone surrogate (U+D800-U+DFFF)",
                {"where": "" if where == "." else f" at {where!r}"},
            )
        return value


def _surrogate_at(value: Any, path: str = "") -> str | None:
    """Where in ``value`` (strings, lists, dicts) a lone surrogate sits, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "."
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if found := _surrogate_at(key, path) or _surrogate_at(item, f"{path}{key}"):
                return found
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            if found := _surrogate_at(item, f"{path}{n}"):
                return found
    return None
