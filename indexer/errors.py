"""The indexer's exceptions; the CLI turns them into messages.

    IndexerError
    ├── RepoPathError         the path to index is not a folder
    ├── IndexLockedError      another process holds the index's lock
    ├── ModelMismatchError    the index was built with another embedding model
    ├── IndexMissingError     no index exists yet for this repository
    ├── EmbedderError         the bundled model could not be loaded
    └── VectorStoreError      the vector store (a Chroma server) cannot be reached or failed
"""

from __future__ import annotations


class IndexerError(Exception):
    """Base of every error the indexer raises on purpose."""


class RepoPathError(IndexerError):
    """The repository path does not exist or is not a folder."""


class IndexLockedError(IndexerError):
    """Another process holds the lock of this index."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class ModelMismatchError(IndexerError):
    """The index records a different embedding model or dimension."""


class IndexMissingError(IndexerError):
    """No index has been built for this repository yet."""


class EmbedderError(IndexerError):
    """The embedding model could not be loaded or run."""


class VectorStoreError(IndexerError):
    """The vector store could not be reached, failed mid-run, or cannot name this repository."""
