"""`index_status`: what is in a repository's index and how stale it is."""

from __future__ import annotations

from pathlib import Path

from indexer.discover import discover_files
from indexer.pipeline import resolve_repo
from indexer.plan import make_plan
from indexer.records import IndexStatus
from indexer.settings import IndexSettings
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout


def index_exists(repo: Path, settings: IndexSettings) -> bool:
    """True when `repo` has been indexed at least once."""
    return IndexLayout.for_repo(resolve_repo(repo), settings).exists


def index_status(repo: Path, settings: IndexSettings) -> IndexStatus:
    """Counts, model, size, last run, and how many files changed since (by stat; racy files are not counted)."""
    repo = resolve_repo(repo)
    layout = IndexLayout.for_repo(repo, settings)
    if not layout.exists:
        return IndexStatus(repo=str(repo), index_dir=str(layout.folder), exists=False)
    with Catalog(layout.catalog) as catalog:
        files, chunks, languages, skipped = catalog.counts()
        plan = make_plan(discover_files(repo, settings).files, catalog.files())
        last = catalog.get_meta("last_indexed")
        dim = catalog.get_meta("dimension")
        return IndexStatus(
            repo=str(repo), index_dir=str(layout.folder), exists=True, files=files, chunks=chunks,
            languages=languages, model=catalog.get_meta("model"), dimension=int(dim) if dim else None,
            size_bytes=layout.size_bytes(), last_indexed=float(last) if last else None,
            stale_files=plan.changed_by_stat, skipped_files=skipped,
            pending_chunks=catalog.pending_count(),
        )
