"""The vector store: one Chroma collection holding one vector per chunk id, whichever client serves it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeVar

from indexer.errors import IndexerError, ModelMismatchError, VectorStoreError

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI

T = TypeVar("T")


class VectorStore:
    """A Chroma collection with telemetry off and our own embeddings (see backends.py for the clients).

    `where` names a remote server ("the Chroma server at host:port"): its failures
    become VectorStoreError naming it. An embedded store leaves `where` empty.
    """

    def __init__(self, client: "ClientAPI", name: str, metadata: Mapping[str, str | int], where: str = "") -> None:
        self._client, self._where = client, where
        self._collection = self._call(lambda: client.get_or_create_collection(
            name, metadata=dict(metadata), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
        ))
        found = self._collection.metadata or {}
        if any(str(found.get(key, value)) != str(value) for key, value in metadata.items()):
            self.close()
            raise ModelMismatchError(
                f"the vector store{' at ' + where.removeprefix('the ') if where else ''} holds, in collection "
                f"{name!r}, {found.get('model')} ({found.get('dimension')} dims){_repo(found)}, not "
                f"{metadata.get('model')} ({metadata.get('dimension')} dims){_repo(metadata)}; nothing was "
                "written to it: rebuild the index with --rebuild, or use another collection"
            )
        self._batch = max(1, min(5000, self._call(client.get_max_batch_size)))

    def _call(self, action: Callable[[], T]) -> T:
        """Run one Chroma call; a remote server's failure becomes a VectorStoreError naming it."""
        if not self._where:
            return action()
        try:
            return action()
        except IndexerError:
            raise
        except Exception as exc:  # httpx errors, ValueError and chromadb's own: all mean the server failed us
            raise VectorStoreError(
                f"{self._where} failed ({type(exc).__name__}: {exc}); the local index is intact and what "
                "was not stored stays pending: run `mossen index` again once the server is back"
            ) from exc

    def close(self) -> None:
        """Release Chroma's per-process system, so the next open sees other processes' writes."""
        try:
            self._client.close()
        except Exception:  # a dead server cannot be closed cleanly; nothing of ours is left open
            if not self._where:
                raise

    def __enter__(self) -> "VectorStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """Insert or replace vectors by chunk id."""
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self._call(lambda: self._collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end], metadatas=list(metadatas[start:end])))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove vectors by chunk id (unknown ids are ignored)."""
        for start in range(0, len(ids), self._batch):
            self._call(lambda: self._collection.delete(ids=list(ids[start:start + self._batch])))

    def all_ids(self) -> set[str]:
        """Every id in the collection."""
        ids: set[str] = set()
        offset = 0
        while True:
            page = self._call(lambda: self._collection.get(include=[], limit=self._batch, offset=offset))["ids"]
            ids.update(page)
            if len(page) < self._batch:
                return ids
            offset += len(page)

    def present(self, ids: Iterable[str]) -> set[str]:
        """Which of these ids have a vector (asks for these ids only: a shared collection may be large)."""
        id_list, found = list(ids), set()
        for start in range(0, len(id_list), self._batch):
            part = id_list[start:start + self._batch]
            found.update(self._call(lambda: self._collection.get(ids=part, include=[]))["ids"])
        return found

    def count(self) -> int:
        """Number of vectors stored."""
        return self._call(self._collection.count)

    def query(self, vector: np.ndarray, limit: int, language: str | None = None) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, best first."""
        total = self.count()
        if total == 0:
            return []
        result = self._call(lambda: self._collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=min(limit, total),
            where={"language": language} if language else None, include=["distances"],
        ))
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]


def _repo(meta: Mapping[str, Any]) -> str:
    return f" of repository {meta['repo']}" if meta.get("repo") else ""
