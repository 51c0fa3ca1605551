"""mossen's indexer: walk -> chunk (tree-sitter) -> embed -> store (Chroma + lexical); search.

Usable as a library, with no UI: progress is reported through a callback.

    from indexer import IndexSettings, index_repo, search
    report = index_repo(Path("."), IndexSettings())
    hits = search(Path("."), "where are retries configured", IndexSettings())
"""

from indexer.errors import (
    EmbedderError, IndexerError, IndexLockedError, IndexMissingError, ModelMismatchError, RepoPathError,
)
from indexer.discover import Candidate, Discovery, discover_files
from indexer.pipeline import index_repo
from indexer.records import (
    Chunk, IndexReport, IndexStatus, ProgressCallback, ProgressEvent, SearchHit, SkippedFile,
)
from indexer.search import STRATEGIES, Searcher, SearchOptions, search, strategy_options
from indexer.settings import IndexSettings, default_index_root
from indexer.status import index_exists, index_status

__all__ = [
    "Candidate", "Chunk", "Discovery", "discover_files", "EmbedderError", "IndexLockedError", "IndexMissingError", "IndexReport", "IndexSettings",
    "IndexStatus", "IndexerError", "ModelMismatchError", "ProgressCallback", "ProgressEvent",
    "RepoPathError", "STRATEGIES", "SearchHit", "SearchOptions", "Searcher", "SkippedFile", "default_index_root", "index_exists", "index_repo", "strategy_options",
    "index_status", "search",
]
