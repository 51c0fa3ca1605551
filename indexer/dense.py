"""The dense phase: give every pending chunk its vector, and take dead ones out of the vector store.

The lexical phase (pipeline.py) records, in the same transaction as the chunks,
what the vector store still needs: `pending` chunk ids and `dead` ones. This
phase works through those lists in batches; each batch's vectors are upserted
before its ids leave `pending`, so a kill at any moment only leaves work that
the next run redoes (from the embedding cache, so rarely with the model). It
holds its own lock, not the writer's: search can keep refreshing changed files
while a long embedding run goes on, in the foreground or in the background.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from typing import TYPE_CHECKING

from indexer.embed.base import MODEL_DIM, model_id_for
from indexer.errors import IndexLockedError, ModelMismatchError
from indexer.lock import IndexLock
from indexer.records import ProgressCallback, ProgressEvent, no_progress
from indexer.settings import IndexSettings
from indexer.store.catalog import Catalog
from indexer.store.backends import VectorBackend, vector_backend
from indexer.store.layout import IndexLayout
from indexer.store.vectors import VectorStore

if TYPE_CHECKING:
    from indexer.embed.cache import CachedEmbedding, EmbeddingCache

DENSE_LOCK = "dense.lock"
STORE_KEY = "vector_store"  # catalog meta: the backend location the vectors were checked against
BATCH = 512  # chunks per embed, upsert and commit: long enough to sort by length, short enough to lose little


@dataclass(frozen=True, slots=True)
class DenseReport:
    """What one dense run did, and what it left."""

    embedded: int = 0  # texts run through the model
    cache_hits: int = 0
    stored: int = 0  # vectors upserted
    deleted: int = 0  # dead vectors removed
    repaired: int = 0  # vectors found missing (made pending) or orphaned (deleted)
    pending: int = 0  # chunks still without a vector when it stopped
    busy: bool = False  # another process was embedding; nothing done here
    seconds: float = 0.0


def embed_pending(layout: IndexLayout, settings: IndexSettings, progress: ProgressCallback = no_progress,
                  limit: int | None = None, wait: float | None = None) -> DenseReport:
    """Embed pending chunks (at most `limit`, newest first) and delete dead vectors.

    With `wait` = 0 a busy dense lock means someone else is embedding: return at once,
    reporting `busy`. Otherwise wait up to `wait` (default: the settings' lock timeout).
    """
    started = time.monotonic()
    try:
        lock = IndexLock(layout.folder, settings.lock_timeout if wait is None else wait, name=DENSE_LOCK)
        lock.acquire()
    except IndexLockedError:
        if wait == 0:
            with Catalog(layout.catalog) as catalog:
                return DenseReport(pending=catalog.pending_count(), busy=True)
        raise
    try:
        with Catalog(layout.catalog) as catalog:
            return _DenseRun(layout, settings, catalog, progress).run(limit, started)
    finally:
        lock.release()


class _DenseRun:
    """One dense run over one catalog; the model and the vector store are opened only if needed."""

    def __init__(self, layout: IndexLayout, settings: IndexSettings, catalog: Catalog,
                 progress: ProgressCallback) -> None:
        self.layout, self.settings, self.catalog, self.progress = layout, settings, catalog, progress
        self.backend: VectorBackend = vector_backend(layout, settings)
        self._store: VectorStore | None = None
        self._cache: EmbeddingCache | None = None
        self._embedding: CachedEmbedding | None = None
        self.stored = self.deleted = self.repaired = 0

    def run(self, limit: int | None, started: float) -> DenseReport:
        try:
            self._bury_dead()
            self._fill(limit)
            if self.catalog.pending_count() == 0 and self._needs_reconcile():
                self._reconcile()  # e.g. the vector folder was lost: repair, then fill again
                self._bury_dead()
                self._fill(None)
                self.catalog.set_meta(**{STORE_KEY: self.backend.location})
            return DenseReport(
                embedded=self._embedding.computed if self._embedding else 0,
                cache_hits=self._embedding.hits if self._embedding else 0, stored=self.stored,
                deleted=self.deleted, repaired=self.repaired, pending=self.catalog.pending_count(),
                seconds=time.monotonic() - started,
            )
        finally:
            if self._cache is not None:
                self._cache.close()
            if self._store is not None:
                self._store.close()

    def _fill(self, limit: int | None) -> None:
        total = self.catalog.pending_count() if limit is None else min(limit, self.catalog.pending_count())
        done = 0
        while done < total:
            ids = self.catalog.pending_ids(min(BATCH, total - done))
            if not ids:
                break
            rows = self.catalog.chunk_rows(ids)
            items = [rows[i] for i in ids if i in rows]
            if items and self.backend.shared:  # another machine may have sent these already
                have = self.store().present([r.chunk_id for r in items])
                items = [r for r in items if r.chunk_id not in have]
            if items:
                self.store()  # opened first: an unreachable server fails before any embedding is done
                vectors = self.embedding().vectors([r.text_hash for r in items], [r.chunk.embedding_text for r in items])
                self.store().upsert([r.chunk_id for r in items], vectors,
                                    [{"path": r.chunk.path, "language": r.chunk.language} for r in items])
                self.stored += len(items)
            with self.catalog.transaction():
                self.catalog.vectors_done(ids)
            done += len(ids)
            embedded = self._embedding.computed if self._embedding else 0
            self.progress(ProgressEvent("embed", done, total, embedded=embedded))

    def _bury_dead(self) -> None:
        while ids := self.catalog.dead_ids(BATCH * 4):
            if self._has_vectors() and not self.backend.shared:  # a shared vector may serve another machine
                self.store().delete(ids)
            with self.catalog.transaction():
                self.catalog.bury(ids)
            self.deleted += len(ids)

    def _reconcile(self) -> None:
        """Vectors without a chunk are deleted (not in a shared store); chunks without a vector become pending."""
        wanted = self.catalog.all_chunk_ids()
        stored = self.store().present(wanted) if self.backend.shared else self.store().all_ids()
        orphans, missing = sorted(stored - wanted), sorted(wanted - stored)
        self.progress(ProgressEvent("repair", 0, len(orphans) + len(missing)))
        if orphans:
            self.store().delete(orphans)
        with self.catalog.transaction():
            self.catalog.mark_pending(missing)
        self.repaired += len(orphans) + len(missing)

    def _has_vectors(self) -> bool:
        return self._store is not None or self.backend.has_vectors()

    def _needs_reconcile(self) -> bool:
        """Whether the store may lack vectors the catalog counts as made, or hold ones it dropped."""
        chunks = self.catalog.counts()[1]
        if not chunks and not self._has_vectors():
            return False
        if self.catalog.get_meta(STORE_KEY) != self.backend.location:
            return True  # made for another store (the configuration changed), or never checked: check once
        count = self.backend.quick_count() if self._store is None else None  # a no-op need not open Chroma
        if count is None:
            count = self.store().count()
        return count < chunks if self.backend.shared else count != chunks  # a shared one holds others' too

    def store(self) -> VectorStore:
        if self._store is None:
            self._store = self.backend.open(model_id_for(self.settings.embed_backend), MODEL_DIM)
        return self._store

    def embedding(self) -> CachedEmbedding:
        if self._embedding is None:
            # Imported here: numpy and the model are for runs with vectors to make, not for a no-op.
            from indexer.embed.adaptive import index_embedder
            from indexer.embed.cache import CachedEmbedding, EmbeddingCache

            embedder = index_embedder(self.settings)
            if embedder.export_needed():  # the first run on this machine: say why nothing moves for a while
                self.progress(ProgressEvent("model", 0, 1))
            recorded = self.catalog.get_meta("model")
            if recorded is not None and recorded != embedder.model_id:  # never mix two models' vectors
                raise ModelMismatchError(mismatch_message(recorded, self.catalog.get_meta("dimension"),
                                                          self.settings.embed_backend))
            self._cache = EmbeddingCache(self.layout.embedding_cache)
            self._embedding = CachedEmbedding(self._cache, embedder)
        return self._embedding


def mismatch_message(recorded: str, dimension: str | None, backend: str) -> str:
    """Why an index cannot be used with `backend`, and the two ways out."""
    wanted = model_id_for(backend)
    other = next((b for b in ("onnx-int8", "onnx") if model_id_for(b) == recorded), None)
    hint = f", or set index.backend = \"{other}\" (MOSSEN_INDEX_BACKEND)" if other and other != backend else ""
    return (f"this index was built with {recorded} ({dimension} dims) but the embedding backend "
            f"{backend!r} embeds with {wanted} ({MODEL_DIM} dims); run `mossen index --rebuild`{hint}")


def dense_coverage(catalog: Catalog) -> tuple[int, int]:
    """(chunks with a vector, all chunks)."""
    chunks = catalog.counts()[1]
    return chunks - catalog.pending_count(), chunks
