"""The bulk embedder: sentence-transformers on the bundled model, CPU or GPU."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.embed.base import MODEL_ID
from indexer.errors import EmbedderError


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers; slow to start, fast in bulk."""

    model_id = MODEL_ID

    def __init__(self, model_path: Path, max_tokens: int = 256, batch_size: int = 32) -> None:
        # Never reach for the hub: the model is a local folder.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:  # imported here: ~6 s, paid only when bulk work needs it
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbedderError(f"sentence-transformers is not importable: {exc}") from exc
        transformers_logging.disable_progress_bar()  # its bars would tear through ours
        transformers_logging.set_verbosity_error()
        self._model = SentenceTransformer(str(model_path), device=None)
        self._model.max_seq_length = max_tokens
        self._batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (the library sorts by length inside); rows in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
