"""Reconcile the vector store with the catalog after an interrupted run."""

from __future__ import annotations

from indexer.embed.cache import CachedEmbedding
from indexer.records import ProgressCallback, ProgressEvent
from indexer.store.catalog import Catalog
from indexer.store.vectors import VectorStore


def reconcile_vectors(catalog: Catalog, vectors: VectorStore, embedding: CachedEmbedding,
                      progress: ProgressCallback) -> int:
    """Delete vectors with no chunk, restore vectors missing for chunks; returns how many were fixed.

    Missing vectors come from the embedding cache, so a repair rarely runs the model.
    """
    stored = vectors.all_ids()
    wanted = catalog.all_chunk_ids()
    orphans = sorted(stored - wanted)
    missing = sorted(wanted - stored)
    progress(ProgressEvent("repair", 0, len(orphans) + len(missing)))
    if orphans:
        vectors.delete(orphans)
    if missing:
        rows = catalog.chunk_rows(missing)
        items = [rows[i] for i in missing if i in rows]
        vecs = embedding.vectors([r.text_hash for r in items], [r.chunk.embedding_text for r in items])
        vectors.upsert([r.chunk_id for r in items], vecs,
                       [{"path": r.chunk.path, "language": r.chunk.language} for r in items])
    progress(ProgressEvent("repair", len(orphans) + len(missing), len(orphans) + len(missing)))
    return len(orphans) + len(missing)
