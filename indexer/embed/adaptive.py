"""Pick the cheaper embedder for the amount of work, without loading what is not needed."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.embed.base import MODEL_DIM, MODEL_ID
from indexer.embed.numpy_minilm import NumpyMiniLM


class AdaptiveEmbedder:
    """Starts on the light numpy model; switches to sentence-transformers once work is bulk.

    Both compute all-MiniLM-L6-v2 (a test checks they agree), so vectors from
    either mix freely in one index. The light model starts in ~0.2 s; the bulk
    one costs ~6 s to import but embeds several times faster.
    """

    model_id = MODEL_ID
    dimension = MODEL_DIM

    def __init__(self, model_path: Path, max_tokens: int, batch_size: int, light_limit: int) -> None:
        self._model_path = model_path
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._light_limit = light_limit
        self._light: NumpyMiniLM | None = None
        self._bulk = None
        self._embedded = 0

    @property
    def backend(self) -> str:
        """Which model ran last: "numpy", "sentence-transformers" or "none"."""
        if self._bulk is not None:
            return "sentence-transformers"
        return "numpy" if self._light is not None else "none"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with the light model while the run is small, else with the bulk one."""
        self._embedded += len(texts)
        if self._bulk is None and self._embedded <= self._light_limit:
            if self._light is None:
                self._light = NumpyMiniLM(self._model_path, self._max_tokens)
            return self._light.embed(texts)
        if self._bulk is None:
            from indexer.embed.sentence_transformer import SentenceTransformerEmbedder

            self._bulk = SentenceTransformerEmbedder(self._model_path, self._max_tokens, self._batch_size)
        return self._bulk.embed(texts)
