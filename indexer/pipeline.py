"""`index_repo`: discover -> plan -> read -> chunk -> embed -> store, incrementally and crash-safely.

Write order, which is what makes a kill -9 at any moment harmless:
1. meta `vectors_dirty = 1` is committed before the first vector write of a run;
2. vectors for a batch's new chunks go to Chroma (and to the embedding cache);
3. one SQLite transaction replaces the batch's manifest rows, chunks and terms;
4. vectors of chunks that no longer exist are deleted from Chroma;
5. at the end `vectors_dirty = 0`.
A run that finds `vectors_dirty = 1` reconciles Chroma with the catalog first
(orphans deleted, missing vectors restored from the cache). Search never returns
a vector whose chunk is not in the catalog, so stale hits cannot leak in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.chunking import Chunker, ChunkLimits
from indexer.discover import Candidate, discover_files
from indexer.embed.adaptive import AdaptiveEmbedder
from indexer.embed.base import MODEL_DIM, MODEL_ID, bundled_model_path
from indexer.embed.cache import CachedEmbedding, EmbeddingCache, text_hash
from indexer.embed.tokens import TokenCounter
from indexer.errors import ModelMismatchError, RepoPathError
from indexer.lock import IndexLock
from indexer.plan import make_plan
from indexer.reading import SourceFile, read_source
from indexer.records import Chunk, IndexReport, chunk_ids, ProgressCallback, ProgressEvent, SkippedFile, no_progress
from indexer.repair import reconcile_vectors
from indexer.settings import IndexSettings
from indexer.store.catalog import SCHEMA_VERSION, Catalog, ChunkRow, FileRow, now_ns
from indexer.store.layout import IndexLayout
from indexer.store.vectors import VectorStore


@dataclass
class _Tally:
    """Counters of one run, turned into the IndexReport at the end."""

    changed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    repaired: int = 0
    chunks_seen: int = 0
    stored: int = 0  # files of this run stored so far
    to_store: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)


EMBED_SLICE = 128  # texts per embedder call: length-sorted inside, progress reported between


@dataclass
class _Batch:
    """Files read and chunked, waiting to be embedded and stored together."""

    indexed_ns: int = field(default_factory=now_ns)
    touched: list[FileRow] = field(default_factory=list)  # same content, new stat
    changed: list[tuple[SourceFile, list[ChunkRow]]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # indexed before, unreadable now
    files: int = 0
    chunks: int = 0


def resolve_repo(repo: Path) -> Path:
    """The resolved repository folder, or RepoPathError with a clear reason."""
    if not repo.exists():
        raise RepoPathError(f"{repo} does not exist")
    if not repo.is_dir():
        raise RepoPathError(f"{repo} is not a directory")
    return repo.resolve()


def index_repo(
    repo: Path, settings: IndexSettings, progress: ProgressCallback = no_progress, *, rebuild: bool = False,
) -> IndexReport:
    """Bring the index of `repo` up to date with its working tree; returns what was done."""
    started = time.monotonic()
    repo = resolve_repo(repo)
    layout = IndexLayout.for_repo(repo, settings)
    settings = _excluding_index_folder(repo, layout, settings)
    layout.create()
    with IndexLock(layout.folder, settings.lock_timeout):
        if rebuild or _older_format(layout):
            layout.wipe()  # an older catalog format is rebuilt; vectors come back from the cache
        layout.empty_trash()
        with Catalog(layout.catalog) as catalog:
            _check_model(catalog)
            return _Run(repo, settings, layout, catalog, progress).execute(started)


def _excluding_index_folder(repo: Path, layout: IndexLayout, settings: IndexSettings) -> IndexSettings:
    """An index root configured inside the repository must not index itself, nor live in .git."""
    root = layout.embedding_cache.parent
    if not root.is_relative_to(repo):
        return settings
    rel = root.relative_to(repo).as_posix()
    if rel == "." or rel.split("/")[0] == ".git":
        raise RepoPathError(f"the index folder {root} must not be the repository itself or inside .git; "
                            "choose another --index-dir")
    return replace(settings, exclude=(*settings.exclude, f"/{rel}/"))


def _older_format(layout: IndexLayout) -> bool:
    if not layout.exists:
        return False
    with Catalog(layout.catalog) as catalog:  # a catalog with a model but another schema is older
        return catalog.get_meta("model") is not None and catalog.get_meta("schema") != SCHEMA_VERSION


def _check_model(catalog: Catalog) -> None:
    model, dim = catalog.get_meta("model"), catalog.get_meta("dimension")
    if model is None:
        catalog.set_meta(model=MODEL_ID, dimension=str(MODEL_DIM), schema=SCHEMA_VERSION)
    elif model != MODEL_ID or int(dim or 0) != MODEL_DIM:
        raise ModelMismatchError(
            f"this index was built with {model} ({dim} dims) but mossen embeds with "
            f"{MODEL_ID} ({MODEL_DIM} dims); run `mossen index --rebuild`"
        )


class _Run:
    """One index run; holds what its steps share."""

    def __init__(self, repo: Path, settings: IndexSettings, layout: IndexLayout,
                 catalog: Catalog, progress: ProgressCallback) -> None:
        self.repo, self.settings, self.layout, self.catalog = repo, settings, layout, catalog
        self.progress = progress
        self.tally = _Tally()
        self._vectors: VectorStore | None = None
        self._embedding: CachedEmbedding | None = None
        self._chunker: Chunker | None = None
        self._cache: EmbeddingCache | None = None

    def execute(self, started: float) -> IndexReport:
        """Run every step and report."""
        try:
            return self._execute(started)
        finally:
            if self._cache is not None:
                self._cache.close()
            if self._vectors is not None:
                self._vectors.close()

    def _execute(self, started: float) -> IndexReport:
        discovery = discover_files(self.repo, self.settings)
        self.tally.skipped.extend(discovery.skipped)
        self.progress(ProgressEvent("discover", len(discovery.files), len(discovery.files)))
        manifest = self.catalog.files()
        plan = make_plan(discovery.files, manifest)
        if self.catalog.get_meta("vectors_dirty") == "1":
            self.tally.repaired = reconcile_vectors(self.catalog, self.vectors(), self.embedding(), self.progress)
            self.catalog.set_meta(vectors_dirty="0")
        if not plan.is_noop:
            self.catalog.set_meta(vectors_dirty="1")
            self._remove(list(plan.deleted))
            self._index_files(plan.to_read, manifest)
            self._check_vector_count()
            self.catalog.set_meta(vectors_dirty="0")
        with self.catalog.transaction():
            self.catalog.set_skipped((s.path, s.reason) for s in self.tally.skipped)
        self.catalog.set_meta(last_indexed=str(time.time()))
        files, chunks, _, _ = self.catalog.counts()
        self.progress(ProgressEvent("done", files, files, chunks=chunks))
        embedding = self._embedding
        return IndexReport(
            repo=str(self.repo), index_dir=str(self.layout.folder), files_seen=len(discovery.files),
            files_changed=self.tally.changed, files_unchanged=plan.unchanged + (len(plan.to_read) - self.tally.changed),
            files_deleted=len(plan.deleted), chunks_total=chunks, chunks_added=self.tally.chunks_added,
            chunks_removed=self.tally.chunks_removed, embedded=embedding.computed if embedding else 0,
            embed_cache_hits=embedding.hits if embedding else 0, repaired=self.tally.repaired,
            skipped=tuple(sorted(self.tally.skipped, key=lambda s: s.path)),
            seconds=time.monotonic() - started,
        )

    def _check_vector_count(self) -> None:
        """A cheap end-of-run check; a mismatch (e.g. a catalog deleted by hand) triggers a full reconcile."""
        if self._vectors is None:
            return
        if self._vectors.count() != self.catalog.counts()[1]:
            self.tally.repaired += reconcile_vectors(self.catalog, self._vectors, self.embedding(), self.progress)

    # -- lazily built parts: a no-op run never pays for them ---------------------
    def vectors(self) -> VectorStore:
        if self._vectors is None:
            self._vectors = VectorStore(self.layout.vectors, MODEL_ID, MODEL_DIM)
        return self._vectors

    def embedding(self) -> CachedEmbedding:
        if self._embedding is None:
            s = self.settings
            self._cache = EmbeddingCache(self.layout.embedding_cache)
            embedder = AdaptiveEmbedder(bundled_model_path(), s.chunk_max_tokens, s.embed_batch_size,
                                        s.light_embed_limit)
            self._embedding = CachedEmbedding(self._cache, embedder)
        return self._embedding

    def chunker(self) -> Chunker:
        if self._chunker is None:
            s = self.settings
            counter = TokenCounter(bundled_model_path())
            self._chunker = Chunker(ChunkLimits(count_tokens=counter, max_tokens=s.chunk_max_tokens,
                                                min_tokens=s.chunk_min_tokens))
        return self._chunker

    # -- steps -------------------------------------------------------------------
    def _remove(self, paths: list[str]) -> None:
        """Drop deleted files: catalog first, then their vectors."""
        if not paths:
            return
        ids = self.catalog.chunk_ids_for(paths)
        with self.catalog.transaction():
            self.catalog.remove_files(paths)
        self.vectors().delete(ids)
        self.tally.chunks_removed += len(ids)

    def _index_files(self, candidates: tuple[Candidate, ...], manifest: dict[str, FileRow]) -> None:
        """Read and chunk files one by one; embed and store them in batches.

        A batch closes at `commit_every` files or `batch_chunks` chunks: big enough
        for length-sorted embedding across files, small enough that progress moves
        and an interruption loses little.
        """
        self.tally.to_store = len(candidates)
        batch = _Batch()
        for cand in candidates:
            self._prepare(cand, manifest, batch)
            if batch.files >= self.settings.commit_every or batch.chunks >= self.settings.batch_chunks:
                self._store(batch)
                batch = _Batch()
            self._report()
        self._store(batch)
        self._report()

    def _report(self, in_batch: float = 0.0) -> None:
        """`in_batch`: files of the current batch counted as done by the share of it embedded."""
        embedded = self._embedding.computed if self._embedding else 0
        self.progress(ProgressEvent("index", self.tally.stored + in_batch, self.tally.to_store,
                                    chunks=self.tally.chunks_seen, embedded=embedded))

    def _prepare(self, cand: Candidate, manifest: dict[str, FileRow], batch: _Batch) -> None:
        """Read one file and chunk it into the batch (or note it touched, skipped or gone)."""
        batch.files += 1
        source = read_source(self.repo, cand, self.settings.max_file_bytes)
        if isinstance(source, SkippedFile):
            self.tally.skipped.append(source)
            if cand.path in manifest:
                batch.gone.append(cand.path)  # unreadable now: its old chunks must not linger
            return
        row = manifest.get(cand.path)
        if row is not None and row.content_hash == source.content_hash:
            batch.touched.append(FileRow(source.path, source.content_hash, source.size, source.mtime_ns,
                                         source.inode, source.language, batch.indexed_ns))
            return
        chunks = self._chunk(source)
        if chunks is None:
            if cand.path in manifest:
                batch.gone.append(cand.path)
            return
        batch.changed.append((source, chunks))
        batch.chunks += len(chunks)

    def _chunk(self, source: SourceFile) -> list[ChunkRow] | None:
        """Chunk one file; a chunker failure skips the file instead of ending the run."""
        try:
            chunks = self.chunker().chunk(source.path, source.text, source.language)
        except Exception as exc:  # the chunker must never take the run down
            self.tally.skipped.append(SkippedFile(source.path, f"chunking failed: {type(exc).__name__}: {exc}"))
            return None
        self.tally.chunks_seen += len(chunks)
        return [ChunkRow(c, i, embedding_key(c)) for c, i in zip(chunks, chunk_ids(chunks))]

    def _store(self, batch: _Batch) -> None:
        """Vectors first, then one catalog transaction, then delete replaced vectors."""
        changed, touched, gone, indexed_ns = batch.changed, batch.touched, batch.gone, batch.indexed_ns
        paths = [s.path for s, _ in changed] + gone
        old_ids = set(self.catalog.chunk_ids_for(paths))
        new_rows = [r for _, rows in changed for r in rows]
        new_ids = {r.chunk_id for r in new_rows}
        fresh = [r for r in new_rows if r.chunk_id not in old_ids]
        for start in range(0, len(fresh), EMBED_SLICE):
            part = fresh[start:start + EMBED_SLICE]
            vectors = self.embedding().vectors([r.text_hash for r in part], [r.chunk.embedding_text for r in part])
            self.vectors().upsert([r.chunk_id for r in part], vectors,
                                  [{"path": r.chunk.path, "language": r.chunk.language} for r in part])
            self._report(batch.files * (start + len(part)) / len(fresh))
        with self.catalog.transaction():
            for row in touched:
                self.catalog.touch_file(row)
            self.catalog.remove_files(gone)
            for source, rows in changed:
                file_row = FileRow(source.path, source.content_hash, source.size, source.mtime_ns,
                                   source.inode, source.language, indexed_ns)
                self.catalog.put_file(file_row, rows, source.note)
        stale = sorted(old_ids - new_ids)
        if stale:
            self.vectors().delete(stale)
        self.tally.changed += len(changed)
        self.tally.stored += batch.files
        self.tally.chunks_added += len(new_ids - old_ids)
        self.tally.chunks_removed += len(old_ids - new_ids)


def embedding_key(chunk: Chunk) -> str:
    """The embedding-cache key: what identifies the code (qualified symbol + text), not where it lives.

    The path is left out on purpose, so a renamed or copied file reuses its
    vectors; the vector keeps the path header of the place it was first embedded.
    """
    return text_hash(f"{chunk.symbol or ''}\0{chunk.text}")
