"""mossen's own errors; only the CLI turns errors into messages and exit codes.

    MossenError
    ├── ConfigError    a config file or value is invalid
    └── UsageError     the command line asks for something impossible

Errors of the indexer (indexer.errors.IndexerError and its subclasses) are
reported by the CLI the same way.
"""

from __future__ import annotations


class MossenError(Exception):
    """Base of every error mossen raises on purpose."""


class ConfigError(MossenError):
    """A configuration file or value is invalid."""


class UsageError(MossenError):
    """The command line asks for something that cannot be done."""
