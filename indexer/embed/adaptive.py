"""Pick the cheaper embedder for the amount of work, without loading what is not needed."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.embed.base import MODEL_DIM, Embedder, bundled_model_path, model_id_for
from indexer.embed.numpy_minilm import NumpyMiniLM
from indexer.settings import IndexSettings


class AdaptiveEmbedder:
    """Starts on the light numpy model; switches to the bulk backend once work is bulk.

    Backends "torch" (sentence-transformers) and "onnx" (ONNX Runtime, fp32) compute
    the same function as the numpy model (tests check they agree), so vectors from
    either mix freely in one index. The light model starts in ~0.2 s; torch costs
    ~6 s to import but embeds several times faster. "onnx-int8" computes other
    vectors, so it embeds everything itself, small runs included.
    """

    dimension = MODEL_DIM

    def __init__(self, model_path: Path, max_tokens: int, batch_size: int, light_limit: int,
                 backend: str = "torch", models_dir: Path | None = None, threads: int = 0) -> None:
        if backend != "torch" and models_dir is None:
            raise ValueError(f"the {backend} backend needs a folder for the exported model")
        self._model_path = model_path
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._light_limit = -1 if backend == "onnx-int8" else light_limit
        self._backend = backend
        self._models_dir = models_dir
        self._threads = threads
        self._light: NumpyMiniLM | None = None
        self._bulk: Embedder | None = None
        self._embedded = 0
        self.model_id = model_id_for(backend)

    @property
    def backend(self) -> str:
        """Which model ran last: "numpy", "sentence-transformers", "onnx", "onnx-int8" or "none"."""
        if self._bulk is not None:
            return "sentence-transformers" if self._backend == "torch" else self._backend
        return "numpy" if self._light is not None else "none"

    def export_needed(self) -> bool:
        """Whether the ONNX model must first be exported into the models folder (once per machine)."""
        if self._backend == "torch" or self._models_dir is None:
            return False
        from indexer.embed.onnx_export import export_needed

        return export_needed(self._model_path, self._models_dir, "int8" if self._backend == "onnx-int8" else "fp32")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with the light model while the run is small, else with the bulk one."""
        self._embedded += len(texts)
        if self._bulk is None and self._embedded <= self._light_limit:
            if self._light is None:
                self._light = NumpyMiniLM(self._model_path, self._max_tokens)
            return self._light.embed(texts)
        if self._bulk is None:
            self._bulk = self._load_bulk()
        return self._bulk.embed(texts)

    def _load_bulk(self) -> Embedder:
        if self._backend == "torch":
            from indexer.embed.sentence_transformer import SentenceTransformerEmbedder  # ~6 s: bulk only

            return SentenceTransformerEmbedder(self._model_path, self._max_tokens, self._batch_size)
        from indexer.embed.onnx_minilm import load_onnx_minilm  # onnxruntime: only for ONNX backends

        assert self._models_dir is not None
        variant = "int8" if self._backend == "onnx-int8" else "fp32"
        return load_onnx_minilm(self._model_path, self._models_dir, variant, self._max_tokens,
                                self._batch_size, self._threads)


def index_embedder(settings: IndexSettings) -> AdaptiveEmbedder:
    """The embedder an index run uses under `settings` (its backend, window, batch and threads)."""
    s = settings
    return AdaptiveEmbedder(bundled_model_path(), s.chunk_max_tokens, s.embed_batch_size, s.light_embed_limit,
                            s.embed_backend, s.models_dir, s.embed_threads)
