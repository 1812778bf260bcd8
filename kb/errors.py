"""Domain errors. Each carries the HTTP status the one web error handler answers with, a stable
machine ``code``, and its message as a ``Message``: English text that keeps its template and
values, so that the web layer can show it in the reader's language (web/i18n.py)."""

from __future__ import annotations

import re
from typing import Any


class Message(str):
    """Text (English for kb's messages) that remembers the template and values it was made of.

    It *is* the English text, for logs, the CLI and comparisons; a page or an API answer looks
    ``template`` up in its catalogue and formats the translation with ``params``. Write the
    template with ``{name}`` fields and pass the values, never an f-string: an f-string has no
    template to look up (and Babel cannot extract it)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        text = super().__new__(cls, template.format(**params) if params else template)
        text.template = template
        text.params = params
        return text

    def __reduce__(self) -> Any:  # pickles (and copies) keep the template
        return (_message, (self.template, self.params))


def _message(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


def N_(text: str) -> Message:
    """Mark ``text`` for the catalogues (Babel extracts ``N_``); it is translated where shown."""
    return Message(text)


def parsed(text: str, forms: tuple[Message, ...]) -> Message:
    """``text`` as the first of ``forms`` (templates with ``{name}`` fields) it is an instance
    of, with the fields' values; else ``text`` as it is (shown untranslated)."""
    for form in forms:
        match = _form_regex(form).fullmatch(text)
        if match is not None:
            return Message(form, **match.groupdict())
    return Message(text)


_FORM_CACHE: dict[str, re.Pattern[str]] = {}


def _form_regex(form: str) -> re.Pattern[str]:
    if form not in _FORM_CACHE:
        pieces = re.split(r"\{(\w+)\}", form)
        body = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces)
        )
        _FORM_CACHE[form] = re.compile(body, re.S)
    return _FORM_CACHE[form]


class KBError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **params: Any
    ) -> None:
        text = message if isinstance(message, Message) else Message(message, **params)
        super().__init__(text)
        self.message = text
        self.field = field
        if code is not None:
            self.code = code


class NotFound(KBError):
    status_code = 404
    code = "not_found"


class Invalid(KBError):
    status_code = 422
    code = "invalid"


class Conflict(KBError):
    status_code = 409
    code = "conflict"


class TooLarge(KBError):
    status_code = 413
    code = "too_large"


class Unauthenticated(KBError):
    """No valid credentials; says nothing about which part was wrong."""

    status_code = 401
    code = "unauthenticated"


class EmbedRefused(KBError):
    """An embed token that is tampered, expired, for another agent or from a revoked key: the
    panel says so (there is no login form to send an embedded agent to)."""

    status_code = 401
    code = "embed_refused"


class Forbidden(KBError):
    """Signed in, but the role, scope or collection does not allow it."""

    status_code = 403
    code = "forbidden"


class TooManyAttempts(KBError):
    """Logins are locked, or a caller is over its rate limit; ``retry_after`` in whole seconds."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class Unavailable(KBError):
    """A service the request needs (the database) cannot be reached; retrying later may work."""

    status_code = 503
    code = "unavailable"


class StorageFull(KBError):
    """The disk holding the database or the index is full; nothing was changed."""

    status_code = 507
    code = "storage_full"


# What each kind of embedding-server failure means to an operator (search/embedders/remote.py).
_EMBEDDER_PROBLEMS = {
    "unreachable": N_(
        "the embedding server {url} cannot be reached ({reason}); start it or correct "
        "KB_EMBEDDER_URL, then try again"
    ),
    "timeout": N_(
        "the embedding server {url} did not answer in time ({reason}); try again shortly, or "
        "raise KB_EMBEDDER_TIMEOUT"
    ),
    "refused": N_(
        "the embedding server {url} refused the request ({reason}); check KB_EMBEDDER_MODEL "
        "and the API key"
    ),
    "garbage": N_(
        "the embedding server {url} gave an answer that is not usable ({reason}); "
        "KB_EMBEDDER_URL must be an OpenAI-compatible /v1/embeddings server"
    ),
}


class EmbedderUnavailable(Unavailable):
    """The embedding server (``KB_EMBEDDER=remote``) is down, too slow, refused the request or
    answered garbage; ``kind`` says which, ``reason`` how (as the client saw it, in English)."""

    code = "embedder_unavailable"

    def __init__(self, kind: str, *, url: str, reason: str) -> None:
        template = _EMBEDDER_PROBLEMS.get(kind, _EMBEDDER_PROBLEMS["garbage"])
        super().__init__(Message(template, url=url, reason=reason), field="embedder")
        self.kind = kind


class VectorEngineUnavailable(Unavailable):
    """The vector engine (``KB_VECTOR_BACKEND=milvus``) is down, refused the request, or its
    Milvus Lite file is held by another process; ``reason`` says how, as the client saw it."""

    code = "vector_engine_unavailable"

    def __init__(self, *, uri: str, reason: str) -> None:
        template = N_(
            "the vector engine {uri} cannot be used ({reason}); start it or correct "
            "KB_MILVUS_URI, then try again"
        )
        super().__init__(Message(template, uri=uri, reason=reason), field="vector_backend")
