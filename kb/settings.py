"""One settings object, read from ``KB_*`` environment variables and validated at start-up."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from ingest.chunking import DEFAULT_MAX_CHARS
from ingest.fence import DEFAULT_MEMORY_MB, DEFAULT_SECONDS, ParseLimits
from ingest.pipeline import DEFAULT_MAX_CHUNKS
from kb.embedder_settings import EmbedderSettings
from kb.types import CollectionName
from kb.vector_settings import VectorSettings
from search.decisive import SkipRule
from search.fusion import FusionConfig


class Settings(VectorSettings, EmbedderSettings):
    """Every knob of AssistKB. The README documents each field (a test enforces it)."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="SQLite file, indexes, caches, job inputs.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file `<data_dir>/assistkb.sqlite3`."
    )
    shared: bool = Field(False, description="Processes share one PostgreSQL and index (README).")
    index_poll_seconds: float = Field(1.0, gt=0, le=60, description="`shared`: seconds a look.")
    fusion: Literal["convex", "rrf"] = Field("convex", description="How BM25 and vectors combine.")
    fusion_alpha: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="Convex fusion: weight of the vector score (BM25 gets 1-α).",
    )
    fusion_bm25_scale: Literal["ceiling", "minmax"] = Field(
        "ceiling",
        description="Convex fusion: BM25 over the query's idf sum (`ceiling`) or min-max.",
    )
    fusion_reach: bool = Field(
        True,
        description=(
            "Convex fusion: BM25's weight shrinks with how little of a candidate is written in "
            "the query's scripts (an English question against a Chinese passage)."
        ),
    )
    fusion_vector_scale: Literal["minmax", "width"] = Field(
        "width",
        description=(
            "Convex fusion: cosine min-max over the candidates, or `width`: its gap below the "
            "query's best cosine over `fusion_vector_width`."
        ),
    )
    fusion_vector_width: float = Field(
        0.1, gt=0.0, le=2.0, description="Convex fusion, `width` scale: the gap that scores 0."
    )
    fusion_depth: int = Field(
        100, ge=1, le=1000, description="Candidates taken from each retriever before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="RRF constant k.")
    rrf_vector_weight: float = Field(1.0, ge=0.0, description="RRF weight of the vector ranking.")
    rrf_bm25_weight: float = Field(1.0, ge=0.0, description="RRF weight of the BM25 ranking.")
    chunk_chars: int = Field(
        DEFAULT_MAX_CHARS, ge=50, le=4000, description="Target maximum chunk size in chars."
    )
    max_upload_bytes: int = Field(20_000_000, ge=1, description="Largest file accepted for ingest.")
    max_upload_files: int = Field(
        50, ge=1, description="Most files one upload request may carry (API and console)."
    )
    max_request_bytes: int = Field(
        100_000_000,
        ge=1024,
        description=(
            "Largest request body, counted as it streams in (chunked bodies too); an upload of "
            "several files must fit in it."
        ),
    )
    max_chunks_per_document: int = Field(
        DEFAULT_MAX_CHUNKS,
        ge=1,
        description="A file that would make more chunks than this fails (a dump, not knowledge).",
    )
    parse_memory_mb: int = Field(
        DEFAULT_MEMORY_MB,
        ge=300,
        description=(
            "Memory (MB) one file's parse may use, in its own process; more fails that file "
            "(a decompression bomb) and leaves the others and every search untouched."
        ),
    )
    parse_seconds: float = Field(
        DEFAULT_SECONDS,
        gt=0,
        description="Time one file's parse may take (wall clock and processor); more fails it.",
    )
    skip_embedding: bool = Field(
        True,
        description=(
            "A search whose BM25 ranking is decisive (the `skip_min_*` thresholds) is served "
            "without embedding the query."
        ),
    )
    skip_min_coverage: float = Field(
        0.7, ge=0.0, le=1.0, description="Skip: idf share of the query the top BM25 hit holds."
    )
    skip_min_margin: float = Field(
        0.1, ge=0.0, le=1.0, description="Skip: BM25 top-1 minus top-2, over the query's idf sum."
    )
    skip_min_matched_idf: float = Field(
        4.0, ge=0.0, description="Skip: idf (nats) of the query terms the top BM25 hit matched."
    )
    hnsw_threshold: int = Field(
        50_000, ge=1, description="Collections with more chunks use an HNSW vector index."
    )
    user_dict: Path | None = Field(None, description="jieba user dictionary for BM25 tokens.")
    synonyms: Path | None = Field(None, description="Synonym sets: one comma-separated set a line.")
    default_collection: CollectionName = Field(
        "default", description="Collection used when none is given."
    )
    search_limit: int = Field(10, ge=1, le=100, description="Default number of hits.")
    cache_dir: Path | None = Field(
        None, description="Embedding cache directory; default `<data_dir>/cache`. Shareable."
    )
    max_query_chars: int = Field(2000, ge=10, description="Longest search query accepted.")
    learning: bool = Field(True, description="Re-rank from agents' feedback; pins (kb/learning).")
    learning_interleave: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description=(
            "Share of suggestions (0-1, by suggestion id) whose answers are a team-draft "
            "interleaving of the learned and the unlearned ranking: the online check of learning."
        ),
    )

    confidence_high_margin: float = Field(
        0.075, description="Suggestion-score lead over the next answer for high confidence."
    )
    confidence_medium_margin: float = Field(
        0.016, description="Suggestion-score lead over the next answer for medium confidence."
    )
    confidence_min_cosine: float = Field(
        0.889, description="Below this cosine similarity an answer is low confidence."
    )
    reply_min_similarity: float = Field(
        0.90, description="Cosine similarity a scripted reply's cue needs for it to be suggested."
    )
    suggest_draft_seconds: float = Field(
        15.0,
        ge=0,
        description=(
            "A panel suggestion replaced this soon, with no feedback, was a draft of the same "
            "message: the log keeps only the latest."
        ),
    )
    max_message_chars: int = Field(
        5000, ge=10, description="Longest conversation turn accepted by /suggest."
    )
    max_turns: int = Field(200, ge=1, description="Most conversation turns accepted by /suggest.")
    upkeep_draft_days: int = Field(30, ge=1, le=366, description="A pending draft expires after.")
    upkeep_cluster_similarity: float = Field(0.45, ge=-1, le=1, description="Same-gap similarity.")
    workers: Literal["inline", "external"] = Field(
        "inline", description="Who runs jobs: `kb serve`'s threads, or `external` `kb worker`s."
    )
    job_lease_seconds: float = Field(30.0, gt=0, description="A running job's renewed lease.")
    job_attempts: int = Field(3, ge=1, description="Claims of a job before it is failed.")
    frame_ancestors: str = Field(
        "'self'",
        description="CSP frame-ancestors for the assist panel, e.g. `'self' https://crm.example`.",
    )

    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Signs CSRF and embed tokens; default: generated once into `<data_dir>/secret_key`. "
            "Required (32+ characters, no placeholder) when `env` is production."
        ),
    )
    env: Literal["development", "production"] = Field(
        "development", description="`production` refuses to start without an explicit secret."
    )
    cookie_secure: bool | None = Field(
        None, description="Session cookie only over HTTPS; default: on outside development."
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 90, description="A login lasts this long.")
    password_min_length: int = Field(12, ge=8, le=128, description="Shortest password accepted.")
    login_delay_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description=(
            "After a failed login, that account at that address waits this long; each further "
            "failure of the pair doubles the wait. Other addresses are not held up."
        ),
    )
    login_delay_max_seconds: float = Field(
        900.0, gt=0, le=24 * 3600, description="The longest wait one account+address pair gets."
    )
    login_address_max_failures: int = Field(
        50,
        ge=1,
        description=(
            "Failed logins from one address (any accounts) within the window before it is "
            "refused until the oldest leaves the window."
        ),
    )
    login_window_minutes: float = Field(
        15.0, gt=0, description="The window of `login_address_max_failures`."
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "Comma-separated addresses or CIDRs of your reverse proxies (empty: none). Only a "
            "request from one of them has `X-Forwarded-For` read, and the client is its "
            "right-most address that is not a trusted proxy."
        ),
    )
    embed_token_minutes: float = Field(
        15.0, gt=0, le=24 * 60, description="Longest life of an embed token for the CRM's iframe."
    )
    rate_limit_key_per_minute: int = Field(
        3000,
        ge=0,
        description=(
            "Requests per minute per API key (0: no limit). One CRM key serves every agent, "
            "calling on each customer turn: a few hundred agents need thousands."
        ),
    )
    rate_limit_user_per_minute: int = Field(
        300,
        ge=0,
        description=(
            "Requests per minute per signed-in person, and per agent of an embed token "
            "(0: no limit). The panel asks as the agent types: about two a second, at most."
        ),
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed (checked at start-up)."""
        return tuple(ipaddress.ip_network(i, strict=False) for i in _items(self.trusted_proxies))

    @property
    def fusion_config(self) -> FusionConfig:
        """The fusion settings as the one object every searcher takes."""
        return FusionConfig(
            method=self.fusion,
            alpha=self.fusion_alpha,
            rrf_k=self.rrf_k,
            bm25_weight=self.rrf_bm25_weight,
            vector_weight=self.rrf_vector_weight,
            bm25_scale=self.fusion_bm25_scale,
            reach=self.fusion_reach,
            vector_scale=self.fusion_vector_scale,
            vector_width=self.fusion_vector_width,
            depth=self.fusion_depth,
        )

    @property
    def skip_rule(self) -> SkipRule | None:
        """When a search may skip its query embedding; None when ``skip_embedding`` is off."""
        if not self.skip_embedding:
            return None
        return SkipRule(
            min_coverage=self.skip_min_coverage,
            min_margin=self.skip_min_margin,
            min_matched_idf=self.skip_min_matched_idf,
        )

    @property
    def parse_limits(self) -> ParseLimits:
        """The memory and time every uploaded or ingested file is parsed within."""
        return ParseLimits(memory_mb=self.parse_memory_mb, seconds=self.parse_seconds)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assistkb.sqlite3').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.env != "development"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def embedding_cache_path(self) -> Path:
        return (self.cache_dir or self.data_dir / "cache") / "embeddings.sqlite3"


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
