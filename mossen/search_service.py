"""One search, the same whether it runs in this process or in the warm search server.

    refresh the changed files (fast path, unless told not to) -> search -> hits and coverage
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from indexer import IndexLockedError, IndexSettings, Searcher, SearchOptions, index_exists, index_repo
from mossen.change_probe import ChangeProbe
from mossen.search_wire import SearchAnswer, SearchRequest

REFRESH_LOCK_WAIT = 0.5  # seconds: a busy index is searched as it is rather than waited for


def refresh(repo: Path, settings: IndexSettings) -> tuple[tuple[int, int], tuple[str, ...]]:
    """Re-index changed files (embedding a few new chunks now, a backlog later); what changed, and notes."""
    if not index_exists(repo, settings):
        return (0, 0), ()
    try:
        report = index_repo(repo, replace(settings, lock_timeout=REFRESH_LOCK_WAIT), dense=settings.light_embed_limit)
    except IndexLockedError as exc:
        return (0, 0), (f"not refreshed, {exc.holder} is indexing; results may be stale",)
    return (report.files_changed, report.files_deleted), ()


def answer(searcher: Searcher, repo: Path, settings: IndexSettings, request: SearchRequest,
           probe: ChangeProbe) -> SearchAnswer:
    """Refresh if asked and the work tree changed since the last refresh, then search with an open Searcher."""
    refreshed, notes = (0, 0), ()
    if request.refresh:
        fingerprint = probe.look()
        if probe.changed_since_seen(fingerprint):
            refreshed, notes = refresh(repo, settings)
            if not notes:  # not skipped for a busy lock
                probe.seen(fingerprint)
    searcher.sync()  # see what the refresh, or another process, committed
    hits = searcher.search(request.query, options(request))
    embedded, chunks = searcher.coverage()
    return SearchAnswer(hits, embedded, chunks, refreshed, notes)


def search_here(repo: Path, settings: IndexSettings, request: SearchRequest) -> SearchAnswer:
    """The search in this process (no server)."""
    refreshed, notes = refresh(repo, settings) if request.refresh else ((0, 0), ())
    with Searcher(repo, settings) as searcher:
        hits = searcher.search(request.query, options(request))
        embedded, chunks = searcher.coverage()
    return SearchAnswer(hits, embedded, chunks, refreshed, notes)


def options(request: SearchRequest) -> SearchOptions:
    """The indexer's options for a request."""
    return SearchOptions(top_k=request.top_k, language=request.language, glob=request.glob)
