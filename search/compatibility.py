"""Whether a generation on disk can be served by this build, embedder and vector backend."""

from __future__ import annotations

import logging

from search.embedders.base import Embedder, EmbedderUnavailableError
from search.generation import FORMAT_VERSION, READABLE_FORMATS, GenerationMeta, IndexMismatchError
from search.vectorindex import VectorBackend

logger = logging.getLogger(__name__)


def check_compatible(meta: GenerationMeta, embedder: Embedder, backend: VectorBackend) -> None:
    """Raise :class:`IndexMismatchError` unless ``meta`` matches this format, ``backend`` and
    ``embedder`` (a generation of another embedder's vector space would rank nonsense)."""
    where = f"{meta.collection}/{meta.generation}"
    if meta.format_version not in READABLE_FORMATS:
        readable = ", ".join(map(str, READABLE_FORMATS))
        raise IndexMismatchError(
            f"index {where} has format {meta.format_version}, "
            f"this build reads formats {readable} (writes {FORMAT_VERSION}); rebuild the index"
        )
    if not backend.reads(meta.vector_index):
        raise IndexMismatchError(f"index {where} is not one of {backend.name}'s: rebuild the index")
    theirs = (meta.embedder_name, meta.embedder_version, meta.dim)
    try:
        mine = (embedder.name, embedder.version, embedder.dim)
    except EmbedderUnavailableError as exc:
        if embedder.name != meta.embedder_name:
            raise
        # A server that is down cannot say which model it runs: an index built for the
        # configured model serves by keywords meanwhile. Writes check again once it answers.
        logger.warning("%s; serving %s by keywords until it answers", exc, meta.collection)
        return
    if mine != theirs:
        raise IndexMismatchError(
            f"index {where} was built with embedder "
            f"{theirs[0]} {theirs[1]} (dim {theirs[2]}), but the configured embedder is "
            f"{mine[0]} {mine[1]} (dim {mine[2]}); rebuild the index"
        )
