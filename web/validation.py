"""pydantic's validation errors (FastAPI's 422) as catalogue messages.

pydantic words its errors in English ("Field required", "String should have at most 2000
characters"). Each error type a request can meet is written here as a template whose fields
come from the error's ``ctx``, so that the one error handler (web/errors.py) answers in the
caller's language while the body keeps pydantic's ``type`` as a stable code and the ``loc``
that says which field. A type not listed keeps pydantic's English text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kb.errors import N_, Message, parsed

# pydantic error type → what is wrong, with ``{name}`` fields taken from the error's ``ctx``.
PROBLEMS: dict[str, Message] = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("unknown field"),
    "string_too_short": N_("must be at least {min_length} characters long"),
    "string_too_long": N_("must be at most {max_length} characters long"),
    "too_short": N_("must have at least {min_length} items"),
    "too_long": N_("must have at most {max_length} items"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "model_attributes_type": N_("must be an object"),
    "date_parsing": N_("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("must be a date (YYYY-MM-DD)"),
    "date_type": N_("must be a date (YYYY-MM-DD)"),
    "literal_error": N_("must be one of: {expected}"),
    "enum": N_("must be one of: {expected}"),
    "string_pattern_mismatch": N_("must match the pattern {pattern}"),
    "json_invalid": N_("invalid JSON: {error}"),
}

# Errors our own validators raise (kb/types.py), read back from their English text.
_CUSTOM_FORMS: tuple[Message, ...] = (
    N_(
        "collection name {name} must be 1-64 characters of a-z, 0-9, '-' and '_', starting with "
        "a letter or digit"
    ),
    N_("text contains a lone surrogate (U+D800-U+DFFF)"),
    N_("text at {where} contains a lone surrogate (U+D800-U+DFFF)"),
)

# "{field}: {problem}": the one-line message of a 422 names the first field at fault.
FIELD_PROBLEM = N_("{field}: {problem}")

_SOURCES = ("body", "query", "path", "header", "cookie")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request: which input (``loc``), pydantic's type, what is wrong."""

    loc: tuple[str | int, ...]
    type: str
    message: Message

    @property
    def field(self) -> str:
        """Dotted path of the input, e.g. ``conversation.0.text`` (``body`` for the whole)."""
        return ".".join(str(p) for p in self.loc) or "body"


def field_problem(error: dict[str, Any]) -> FieldProblem:
    """A pydantic error (one of ``RequestValidationError.errors()``) as a ``FieldProblem``."""
    loc = tuple(error.get("loc", ()))
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]  # where the value came from, not its name
    kind = str(error.get("type", "value_error"))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        loc = ()  # the body as a whole: pydantic points at a character offset
    return FieldProblem(loc=loc, type=kind, message=_message(kind, ctx, error))


def _message(kind: str, ctx: dict[str, Any], error: dict[str, Any]) -> Message:
    template = PROBLEMS.get(kind)
    if template is not None:
        fields = re.findall(r"\{(\w+)\}", template)
        if all(f in ctx for f in fields):
            return Message(template, **{f: _value(f, ctx[f]) for f in fields})
    if kind == "value_error" and isinstance(ctx.get("error"), Exception):
        cause = ctx["error"]
        first = cause.args[0] if cause.args else ""
        return first if isinstance(first, Message) else parsed(str(cause), _CUSTOM_FORMS)
    return parsed(str(error.get("msg", "invalid")), _CUSTOM_FORMS)


def _value(name: str, value: Any) -> Any:
    if name == "expected":
        # pydantic writes "'customer' or 'agent'": keep the values, drop its English "or".
        values = _QUOTED.findall(str(value))
        return ", ".join(values) if values else str(value)
    return value if isinstance(value, int | float) else str(value)
