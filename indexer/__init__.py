"""mossen's indexer: walk -> chunk (tree-sitter) -> store (SQLite FTS5) -> embed (Chroma); search.

Usable as a library, with no UI: progress is reported through a callback.

    from indexer import IndexSettings, index_repo, search
    report = index_repo(Path("."), IndexSettings())
    hits = search(Path("."), "where are retries configured", IndexSettings())

The public names are imported from their modules on first use, so that
`import indexer.settings` (or a CLI command that only needs settings) does not
pay for numpy, tree-sitter and the search stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "indexer.errors": ("EmbedderError", "IndexerError", "IndexLockedError", "IndexMissingError",
                       "ModelMismatchError", "RepoPathError"),
    "indexer.discover": ("Candidate", "Discovery", "discover_files"),
    "indexer.pipeline": ("index_repo",),
    "indexer.records": ("Chunk", "IndexReport", "IndexStatus", "ProgressCallback", "ProgressEvent", "SearchHit",
                        "SkippedFile"),
    "indexer.retrieve": ("STRATEGIES", "Searcher", "SearchOptions", "search", "strategy_options"),
    "indexer.settings": ("IndexSettings", "default_index_root"),
    "indexer.status": ("index_exists", "index_status"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from indexer.discover import Candidate, Discovery, discover_files
    from indexer.errors import (
        EmbedderError, IndexerError, IndexLockedError, IndexMissingError, ModelMismatchError, RepoPathError,
    )
    from indexer.pipeline import index_repo
    from indexer.records import (
        Chunk, IndexReport, IndexStatus, ProgressCallback, ProgressEvent, SearchHit, SkippedFile,
    )
    from indexer.retrieve import STRATEGIES, Searcher, SearchOptions, search, strategy_options
    from indexer.settings import IndexSettings, default_index_root
    from indexer.status import index_exists, index_status
