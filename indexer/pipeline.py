"""`index_repo`: discover -> plan -> read -> chunk -> store (lexical phase), then embed (dense phase).

The lexical phase makes the index searchable at once: one SQLite transaction
per batch of files replaces their manifest rows, chunks and terms, and records
in the same transaction which chunks still need a vector (`pending`) and which
vectors must go (`dead`). It never touches the model or the vector store. The
dense phase (dense.py) then works through those lists, now or later, in the
foreground or in the background, and a kill -9 at any moment of either phase
leaves only work the next run finishes. Search never returns a vector whose
chunk is not in the catalog, so stale hits cannot leak in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.chunking import Chunker, ChunkLimits
from indexer.dense import DENSE_LOCK, embed_pending, mismatch_message
from indexer.discover import Candidate, discover_files
from indexer.embed.base import MODEL_DIM, bundled_model_path, model_id_for
from indexer.embed.cache import text_hash
from indexer.embed.tokens import TokenCounter
from indexer.errors import ModelMismatchError, RepoPathError
from indexer.lock import IndexLock
from indexer.plan import make_plan
from indexer.reading import SourceFile, read_source
from indexer.records import Chunk, IndexReport, chunk_ids, ProgressCallback, ProgressEvent, SkippedFile, no_progress
from indexer.settings import IndexSettings
from indexer.store.catalog import SCHEMA_VERSION, Catalog, ChunkRow, FileRow, now_ns
from indexer.store.layout import IndexLayout


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
    dense: bool | int = True,
) -> IndexReport:
    """Bring the index of `repo` up to date with its working tree; returns what was done.

    `dense`: True embeds every pending chunk (waiting for another embedder up to the
    lock timeout); False stops after the lexical phase (the index is searchable,
    dense vectors are filled in later); a number embeds at most that many, newest
    first, and only if no other process is embedding (the fast path of a refresh).
    """
    started = time.monotonic()
    repo = resolve_repo(repo)
    layout = IndexLayout.for_repo(repo, settings)
    settings = _excluding_index_folder(repo, layout, settings)
    layout.create()
    with IndexLock(layout.folder, settings.lock_timeout):
        if rebuild or _older_format(layout):
            with IndexLock(layout.folder, settings.lock_timeout, name=DENSE_LOCK):  # no embedder mid-wipe
                layout.wipe()  # an older catalog format is rebuilt; vectors come back from the cache
        layout.empty_trash()
        with Catalog(layout.catalog) as catalog:
            _check_model(catalog, model_id_for(settings.embed_backend), settings.embed_backend)
            lexical = _Run(repo, settings, layout, catalog, progress).execute(started)
    if dense is False:
        return lexical
    limit = None if dense is True else int(dense)
    done = embed_pending(layout, settings, progress, limit=limit, wait=None if limit is None else 0)
    return replace(lexical, embedded=done.embedded, embed_cache_hits=done.cache_hits,
                   repaired=done.repaired, pending=done.pending, seconds=time.monotonic() - started)


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


def _check_model(catalog: Catalog, model_id: str, backend: str) -> None:
    model, dim = catalog.get_meta("model"), catalog.get_meta("dimension")
    if model is None:
        catalog.set_meta(model=model_id, dimension=str(MODEL_DIM), schema=SCHEMA_VERSION)
    elif model != model_id or int(dim or 0) != MODEL_DIM:
        raise ModelMismatchError(mismatch_message(model, dim, backend))


class _Run:
    """One index run; holds what its steps share."""

    def __init__(self, repo: Path, settings: IndexSettings, layout: IndexLayout,
                 catalog: Catalog, progress: ProgressCallback) -> None:
        self.repo, self.settings, self.layout, self.catalog = repo, settings, layout, catalog
        self.progress = progress
        self.tally = _Tally()
        self._chunker: Chunker | None = None

    def execute(self, started: float) -> IndexReport:
        """The lexical phase: every step but embedding, then the report."""
        discovery = discover_files(self.repo, self.settings)
        self.tally.skipped.extend(discovery.skipped)
        self.progress(ProgressEvent("discover", len(discovery.files), len(discovery.files)))
        manifest = self.catalog.files()
        plan = make_plan(discovery.files, manifest)
        if not plan.is_noop:
            self._remove(list(plan.deleted))
            self._index_files(plan.to_read, manifest)
        with self.catalog.transaction():
            self.catalog.set_skipped((s.path, s.reason) for s in self.tally.skipped)
        self.catalog.set_meta(last_indexed=str(time.time()))
        files, chunks, _, _ = self.catalog.counts()
        self.progress(ProgressEvent("lexical", files, files, chunks=chunks))
        seconds = time.monotonic() - started
        return IndexReport(
            repo=str(self.repo), index_dir=str(self.layout.folder), files_seen=len(discovery.files),
            files_changed=self.tally.changed, files_unchanged=plan.unchanged + (len(plan.to_read) - self.tally.changed),
            files_deleted=len(plan.deleted), chunks_total=chunks, chunks_added=self.tally.chunks_added,
            chunks_removed=self.tally.chunks_removed, embedded=0, embed_cache_hits=0, repaired=0,
            skipped=tuple(sorted(self.tally.skipped, key=lambda s: s.path)),
            seconds=seconds, pending=self.catalog.pending_count(), lexical_seconds=seconds,
        )

    # -- lazily built parts: a no-op run never pays for them ---------------------
    def chunker(self) -> Chunker:
        if self._chunker is None:
            s = self.settings
            counter = TokenCounter(bundled_model_path())
            self._chunker = Chunker(ChunkLimits(count_tokens=counter, max_tokens=s.chunk_max_tokens,
                                                min_tokens=s.chunk_min_tokens, count_lines=counter.count_lines))
        return self._chunker

    # -- steps -------------------------------------------------------------------
    def _remove(self, paths: list[str]) -> None:
        """Drop deleted files; their vectors become dead, for the dense phase to delete."""
        if not paths:
            return
        ids = self.catalog.chunk_ids_for(paths)
        with self.catalog.transaction():
            self.catalog.remove_files(paths)
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

    def _report(self) -> None:
        self.progress(ProgressEvent("index", self.tally.stored, self.tally.to_store, chunks=self.tally.chunks_seen))

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
        """One catalog transaction: the batch's files, chunks and terms, and the vector work they leave.

        A chunk keeps its vector when its id (path, lines and text) was indexed before
        and already had one; every other new chunk is pending, every old one that is
        gone is dead.
        """
        changed, touched, gone, indexed_ns = batch.changed, batch.touched, batch.gone, batch.indexed_ns
        paths = [s.path for s, _ in changed] + gone
        old_ids = set(self.catalog.chunk_ids_for(paths))
        new_ids = {r.chunk_id for _, rows in changed for r in rows}
        with_vectors = frozenset((old_ids & new_ids) - self.catalog.pending_among(old_ids & new_ids))
        with self.catalog.transaction():
            for row in touched:
                self.catalog.touch_file(row)
            self.catalog.remove_files(gone)
            for source, rows in changed:
                file_row = FileRow(source.path, source.content_hash, source.size, source.mtime_ns,
                                   source.inode, source.language, indexed_ns)
                self.catalog.put_file(file_row, rows, source.note, with_vectors)
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
