"""Bring an index up to date before it is searched (ask, chat; search does it in its service)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from indexer import IndexSettings
from mossen.cli.common import report_refresh
from mossen.search_service import refresh


def refresh_index(repo: Path, settings: IndexSettings, err: Console) -> None:
    """Re-index changed files of an existing index, saying what happened."""
    refreshed, notes = refresh(repo, settings)
    report_refresh(err, refreshed, notes)
