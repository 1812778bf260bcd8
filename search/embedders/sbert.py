"""Any sentence-transformers model, from a local directory or (with internet) the hub.

The heavy import (torch, transformers) happens here only, when the embedder is built. Inputs
beyond the model's ``max_seq_length`` (256 word pieces for all-MiniLM-L6-v2) are truncated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

import numpy as np

from search.embedders.base import as_unit_rows

BATCH = 32


class SentenceTransformerEmbedder:
    """Embeds with ``encode_query`` / ``encode_document`` so model-defined prompts apply."""

    def __init__(self, model: str | Path) -> None:
        location = Path(model).expanduser()
        local = location.is_dir()
        if local:
            # huggingface_hub reads this at import: a local model must never reach for the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError(
                "the sbert embedder needs sentence-transformers: pip install sentence-transformers"
            ) from exc
        if local:
            self.name = f"sbert:{_model_id(location)}"
            self.version = _directory_digest(location)
            self._model = SentenceTransformer(
                str(location.resolve()), device="cpu", local_files_only=True
            )
        else:
            self.name = f"sbert:{model}"
            self.version = (
                f"sentence-transformers-{importlib.metadata.version('sentence-transformers')}"
            )
            self._model = SentenceTransformer(str(model), device="cpu")
        # sentence-transformers 6 renamed the method (the old name warns); 5.x has only the old one.
        if hasattr(self._model, "get_embedding_dimension"):
            dim = self._model.get_embedding_dimension()
        else:
            dim = self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise ValueError(f"sentence-transformers model {model!r} does not report its dimension")
        self.dim = int(dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries."""
        vectors = self._model.encode_query(
            list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
        )
        return as_unit_rows(vectors, self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages."""
        vectors = self._model.encode_document(
            list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
        )
        return as_unit_rows(vectors, self.dim)


def _model_id(directory: Path) -> str:
    # Name a local model by its folder, not its absolute path, so that hosts that install it in
    # different places still agree on the name stored in an index.
    name = directory.resolve().name
    return directory.resolve().parent.name if name == "model" else name


def _directory_digest(directory: Path) -> str:
    """A cheap fingerprint of a model directory: file names, sizes and small config contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        size = path.stat().st_size
        digest.update(f"{relative}:{size}\n".encode())
        if path.suffix == ".json" and size < 1_000_000:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
