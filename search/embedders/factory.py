"""Pick an embedder backend from a spec string such as ``e5-small`` or ``sbert:<path or name>``."""

from __future__ import annotations

from search.embedders.base import Embedder

DEFAULT_EMBEDDER = "e5-small"


def make_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """Build the embedder named by ``spec``; raise ``ValueError`` naming an unknown spec."""
    spec = spec.strip()
    if spec in ("e5-small", "multilingual-e5-small"):
        from search.embedders.e5 import E5Embedder

        return E5Embedder()
    if spec.startswith("sbert:") and spec[len("sbert:") :].strip():
        from search.embedders.sbert import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[len("sbert:") :].strip())
    raise ValueError(
        f"unknown embedder spec {spec!r}: expected 'e5-small' or 'sbert:<local path or hub name>'"
    )
