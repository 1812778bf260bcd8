"""Pick an embedder backend from a spec string such as ``e5-small``, ``sbert:<path or name>`` or
``remote`` (an OpenAI-compatible embedding server, configured by a :class:`RemoteConfig`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.embedders.base import Embedder

if TYPE_CHECKING:
    from search.embedders.remote import RemoteConfig

DEFAULT_EMBEDDER = "e5-small"


def make_embedder(spec: str = DEFAULT_EMBEDDER, *, remote: RemoteConfig | None = None) -> Embedder:
    """Build the embedder named by ``spec``; raise ``ValueError`` naming an unknown spec."""
    spec = spec.strip()
    if spec in ("e5-small", "multilingual-e5-small"):
        from search.embedders.e5 import E5Embedder

        return E5Embedder()
    if spec.startswith("sbert:") and spec[len("sbert:") :].strip():
        from search.embedders.sbert import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[len("sbert:") :].strip())
    if spec == "remote":
        if remote is None:
            raise ValueError("the remote embedder needs a server: set KB_EMBEDDER_URL")
        from search.embedders.remote import RemoteEmbedder

        return RemoteEmbedder(remote)
    raise ValueError(
        f"unknown embedder spec {spec!r}: expected 'e5-small', 'sbert:<local path or hub name>' "
        "or 'remote'"
    )
