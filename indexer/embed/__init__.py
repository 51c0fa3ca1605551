"""Embedding: one protocol, the bundled model, and a cache keyed by text."""

from indexer.embed.base import Embedder, bundled_model_path, MODEL_ID
from indexer.embed.tokens import TokenCounter

__all__ = ["Embedder", "bundled_model_path", "MODEL_ID", "TokenCounter"]
