"""`verify_index`: prove an index is consistent with itself and with the working tree."""

from __future__ import annotations

from pathlib import Path

from indexer.discover import discover_files
from indexer.embed.base import MODEL_DIM, MODEL_ID
from indexer.errors import IndexMissingError
from indexer.pipeline import resolve_repo
from indexer.reading import SourceFile, read_source
from indexer.settings import IndexSettings
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout
from indexer.store.backends import vector_backend


def verify_index(repo: Path, settings: IndexSettings, check_tree: bool = True,
                 require_dense: bool = True) -> list[str]:
    """Problems found, empty when consistent: vectors == chunks (less those still pending, unless
    `require_dense`), no vector without a chunk but those recorded dead, manifest == working tree."""
    repo = resolve_repo(repo)
    layout = IndexLayout.for_repo(repo, settings)
    if not layout.exists:
        raise IndexMissingError(f"{repo} has no index yet")
    problems: list[str] = []
    with Catalog(layout.catalog) as catalog:
        problems += catalog.integrity_problems()
        chunk_ids = catalog.all_chunk_ids()
        vector_ids: set[str] = set()
        backend = vector_backend(layout, settings)
        if chunk_ids or backend.has_vectors():
            with backend.open(catalog.get_meta("model") or MODEL_ID, MODEL_DIM) as vectors:
                # a shared collection also holds other machines' vectors: only ours are checked
                vector_ids = vectors.present(chunk_ids) if backend.shared else vectors.all_ids()
        pending = catalog.pending_among(chunk_ids)
        dead = set(catalog.dead_ids(len(vector_ids) + 1))
        if orphans := vector_ids - chunk_ids - dead:
            problems.append(f"{len(orphans)} vectors without a chunk (orphans)")
        if missing := chunk_ids - vector_ids - pending:
            problems.append(f"{len(missing)} chunks without a vector that are not pending")
        if require_dense and pending:
            problems.append(f"{len(pending)} chunks still pending (embedding not finished)")
        if check_tree:
            problems += _tree_problems(repo, settings, catalog)
    return problems


def _tree_problems(repo: Path, settings: IndexSettings, catalog: Catalog) -> list[str]:
    manifest = catalog.files()
    problems: list[str] = []
    readable: set[str] = set()
    for cand in discover_files(repo, settings).files:
        source = read_source(repo, cand, settings.max_file_bytes)
        if not isinstance(source, SourceFile):
            continue
        readable.add(cand.path)
        row = manifest.get(cand.path)
        if row is None:
            problems.append(f"{cand.path}: in the working tree but not indexed")
        elif row.content_hash != source.content_hash:
            problems.append(f"{cand.path}: indexed content differs from the working tree")
    for path in sorted(set(manifest) - readable):
        problems.append(f"{path}: indexed but no longer in the working tree")
    return problems
