"""The vector store: an embedded Chroma collection holding one vector per chunk id."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.errors import ModelMismatchError

COLLECTION = "chunks"


class VectorStore:
    """Chroma `PersistentClient` with telemetry off and our own embeddings."""

    def __init__(self, folder: Path, model_id: str, dimension: int) -> None:
        import chromadb  # ~0.9 s to import: only paid when vectors are touched
        from chromadb.config import Settings

        self._client = chromadb.PersistentClient(
            path=str(folder), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            metadata={"model": model_id, "dimension": dimension},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        meta = self._collection.metadata or {}
        if meta.get("model") != model_id or int(meta.get("dimension", dimension)) != dimension:
            self.close()
            raise ModelMismatchError(
                f"the vector store holds {meta.get('model')} ({meta.get('dimension')} dims), "
                f"not {model_id} ({dimension} dims); rebuild the index with --rebuild"
            )
        self._batch = max(1, min(5000, self._client.get_max_batch_size()))

    def close(self) -> None:
        """Release Chroma's per-process system, so the next open sees other processes' writes."""
        self._client.close()

    def __enter__(self) -> "VectorStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        """Insert or replace vectors by chunk id."""
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self._collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end], metadatas=list(metadatas[start:end])
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove vectors by chunk id (unknown ids are ignored)."""
        for start in range(0, len(ids), self._batch):
            self._collection.delete(ids=list(ids[start:start + self._batch]))

    def all_ids(self) -> set[str]:
        """Every id in the collection."""
        ids: set[str] = set()
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=self._batch, offset=offset)["ids"]
            ids.update(page)
            if len(page) < self._batch:
                return ids
            offset += len(page)

    def count(self) -> int:
        """Number of vectors stored."""
        return self._collection.count()

    def query(self, vector: np.ndarray, limit: int, language: str | None = None) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, best first."""
        total = self.count()
        if total == 0:
            return []
        result = self._collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=min(limit, total),
            where={"language": language} if language else None, include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]
