"""The two embedders of the bundled model agree, and the cache keeps the model from running twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.embed.adaptive import AdaptiveEmbedder
from indexer.embed.base import MODEL_DIM, bundled_model_path
from indexer.embed.cache import CachedEmbedding, EmbeddingCache, text_hash
from indexer.embed.numpy_minilm import NumpyMiniLM
from indexer.embed.sentence_transformer import SentenceTransformerEmbedder

TEXTS = [
    "def close_idle(self):\n    for conn in self._pool:\n        if conn.idle > self.timeout:\n            conn.close()",
    "where are retries configured",
    "class HTTPAdapter(BaseAdapter):\n    max_retries = Retry(3)",
    "x" * 3000,  # longer than the window: both truncate the same way
    "ünïcødé 字符串 and emoji 🎉",
]


@pytest.fixture(scope="module")
def bulk() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(bundled_model_path())


def test_numpy_forward_matches_sentence_transformers(bulk: SentenceTransformerEmbedder) -> None:
    light = NumpyMiniLM(bundled_model_path())
    a, b = light.embed(TEXTS), bulk.embed(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), MODEL_DIM)
    assert np.min(np.sum(a * b, axis=1)) > 0.99999
    assert np.max(np.abs(a - b)) < 1e-4


def test_vectors_are_normalised_and_meaningful() -> None:
    light = NumpyMiniLM(bundled_model_path())
    v = light.embed(["close idle connections in the pool", TEXTS[0], "parse a date string into a datetime"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # the query is closer to the matching code than to unrelated text


def test_cache_embeds_each_text_once(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    embedding = CachedEmbedding(cache, NumpyMiniLM(bundled_model_path()))
    keys = [text_hash(t) for t in TEXTS[:3]]
    first = embedding.vectors(keys, TEXTS[:3])
    assert (embedding.computed, embedding.hits) == (3, 0)
    again = embedding.vectors(keys[::-1], TEXTS[:3][::-1])
    assert (embedding.computed, embedding.hits) == (3, 3)
    assert np.array_equal(again[::-1], first)
    cache.close()
    reopened = CachedEmbedding(EmbeddingCache(tmp_path / "cache.sqlite"), NumpyMiniLM(bundled_model_path()))
    reopened.vectors(keys, TEXTS[:3])
    assert reopened.computed == 0  # persisted on disk


def test_duplicate_texts_in_one_batch_are_embedded_once(tmp_path: Path) -> None:
    embedding = CachedEmbedding(EmbeddingCache(tmp_path / "c.sqlite"), NumpyMiniLM(bundled_model_path()))
    out = embedding.vectors([text_hash("a")] * 4, ["a"] * 4)
    assert embedding.computed == 1 and out.shape == (4, MODEL_DIM)


def test_adaptive_embedder_switches_to_bulk_past_the_limit() -> None:
    embedder = AdaptiveEmbedder(bundled_model_path(), max_tokens=256, batch_size=8, light_limit=3)
    embedder.embed(TEXTS[:2])
    assert embedder.backend == "numpy"
    embedder.embed(TEXTS[2:4])
    assert embedder.backend == "sentence-transformers"
