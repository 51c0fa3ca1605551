"""A torch-free forward pass of the bundled BERT model, for queries and small updates.

Importing sentence-transformers costs ~6 s here and torch ~1.5 s; this module
loads in ~0.2 s, so a search or a one-file re-index does not pay for them. It
computes the same function as sentence-transformers (mean pooling, L2 norm); a
test checks the vectors agree to 1e-5.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from indexer.embed.base import MODEL_ID

_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


def _gelu(h: np.ndarray) -> np.ndarray:
    """Exact GELU through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    a = np.abs(h) * _INV_SQRT2
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t
              + np.float32(1.421413741)) * t - np.float32(0.284496736)) * t
            + np.float32(0.254829592)) * t
    tail = poly * np.exp(-a * a)  # 1 - erf(|x| / sqrt 2)
    return h * np.where(h >= 0, 1.0 - 0.5 * tail, 0.5 * tail)


class NumpyMiniLM:
    """all-MiniLM-L6-v2 in numpy: tokenizer, 6 encoder layers, mean pooling."""

    model_id = MODEL_ID

    def __init__(self, model_path: Path, max_tokens: int = 256) -> None:
        config = json.loads((model_path / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        raw = load_file(str(model_path / "model.safetensors"))
        prefix = "" if "embeddings.word_embeddings.weight" in raw else "bert."
        self._w = {k[len(prefix):]: v.astype(np.float32) for k, v in raw.items() if k.startswith(prefix)}
        self.dimension = int(config["hidden_size"])
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()

    def embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Embed texts in length-sorted batches; rows come back in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # One BLAS thread: these matrices are small, and OpenBLAS threads that spin
        # while the other core is busy made this 15x slower under load (measured).
        with threadpool_limits(1, user_api="blas"):
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                out[idx] = self._forward([texts[i] for i in idx])
        return out

    def _layer_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self._eps) * self._w[f"{name}.weight"] + self._w[f"{name}.bias"]

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._w[f"{name}.weight"].T + self._w[f"{name}.bias"]

    def _forward(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        batch, length = ids.shape
        w = self._w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._layer_norm(x, "embeddings.LayerNorm")
        heads, width = self._heads, x.shape[-1] // self._heads
        attn_bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        scale = np.float32(1.0 / math.sqrt(width))
        for i in range(self._layers):
            layer = f"encoder.layer.{i}"
            q = self._linear(x, f"{layer}.attention.self.query").reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
            k = self._linear(x, f"{layer}.attention.self.key").reshape(batch, length, heads, width).transpose(0, 2, 3, 1)
            v = self._linear(x, f"{layer}.attention.self.value").reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
            scores = (q @ k) * scale + attn_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * width)
            x = self._layer_norm(x + self._linear(context, f"{layer}.attention.output.dense"),
                                 f"{layer}.attention.output.LayerNorm")
            hidden = _gelu(self._linear(x, f"{layer}.intermediate.dense"))
            x = self._layer_norm(x + self._linear(hidden, f"{layer}.output.dense"), f"{layer}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
