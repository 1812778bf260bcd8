"""Text embedders: a Protocol, one module per backend, and a factory that picks by spec."""

from search.embedders.base import Embedder
from search.embedders.factory import DEFAULT_EMBEDDER, make_embedder

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "make_embedder"]
