"""The settings of where vectors live, a part of :class:`kb.settings.Settings` (its base class,
kept apart so that the settings module stays readable)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

_SERVER = re.compile(r"(https?|tcp|grpc|unix)://\S+")


class VectorSettings(BaseSettings):
    """``KB_VECTOR_BACKEND`` and the Milvus connection (README, "Scaling out: Milvus")."""

    vector_backend: Literal["faiss", "milvus"] = Field(
        "faiss",
        description=(
            "`faiss`: vector files beside each index generation, in every serving process's "
            "memory. `milvus`: a Milvus collection per index segment, at `milvus_uri`."
        ),
    )
    milvus_uri: str | None = Field(
        None,
        description=(
            "`milvus`: a server (`http://host:19530`) or a Milvus Lite file (`….db`, one "
            "process only); default: Milvus Lite at `<data_dir>/milvus.db`."
        ),
    )
    milvus_token: SecretStr | None = Field(
        None, description="`milvus`: the server's `user:password` or API key, if it wants one."
    )
    milvus_prefix: str = Field(
        "assistkb",
        pattern=r"^[A-Za-z][A-Za-z0-9]{0,31}$",
        description="`milvus`: every collection this deployment makes is named `<prefix>_…`.",
    )

    @field_validator("milvus_uri")
    @classmethod
    def _uri_is_a_server_or_a_lite_file(cls, value: str | None) -> str | None:
        if value is None or _SERVER.fullmatch(value) or value.endswith(".db"):
            return value
        raise ValueError(
            f"{value!r} is neither a Milvus server URI (http://host:19530) nor a Milvus Lite "
            "file path ending in .db"
        )
