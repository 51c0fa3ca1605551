"""The agent's view of the index: searches that see its own edits, and the code context of each turn."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from indexer import (
    IndexLockedError, IndexSettings, SearchHit, SearchOptions, discover_files, index_exists, index_repo, search,
)
from mossen.agent.records import ToolRefused
from mossen.agent.workspace import Workspace
from mossen.ask import context_message
from mossen.budget import ContextPack, TokenCounter, fill_budget, render_piece

REFRESH_LOCK_WAIT = 2.0  # seconds: if another indexer holds the index, search it as it is


class RepoIndex:
    """One repository's index; changed files are re-indexed before the next search.

    Given the workspace, it hides what the workspace protects (mossen's config is
    indexed like any file, but only a rule naming it lets the agent read it).
    """

    def __init__(self, repo: Path, settings: IndexSettings, workspace: Workspace | None = None) -> None:
        self.repo, self.settings, self.workspace = repo, settings, workspace
        self._dirty = True  # refresh once before the first search: the work tree may have moved on

    def changed(self, paths: tuple[str, ...]) -> None:
        """Files were edited: the next search re-indexes first."""
        self._dirty = True

    def search(self, query: str, top_k: int) -> list[SearchHit]:
        """Hybrid search, after bringing the index up to date."""
        self._refresh()
        if not index_exists(self.repo, self.settings):
            return []
        hits = search(self.repo, query, self.settings, SearchOptions(top_k=top_k))
        return [h for h in hits if self._shown(h.path)]

    def files(self) -> list[str]:
        """The repository's files as the indexer sees them (ignore rules and exclusions applied)."""
        return [c.path for c in discover_files(self.repo, self.settings).files if self._shown(c.path)]

    def _shown(self, rel: str) -> bool:
        if self.workspace is None:
            return True
        try:
            return self.workspace.target(rel).protected is None
        except ToolRefused:
            return False

    def _refresh(self) -> None:
        if not self._dirty:
            return
        try:
            index_repo(self.repo, replace(self.settings, lock_timeout=REFRESH_LOCK_WAIT),
                       dense=self.settings.light_embed_limit)
        except IndexLockedError:
            pass  # another process is indexing: its index is searched as it is
        self._dirty = False


class PinnedFiles:
    """Files the user pinned with /add: they lead every turn's context, whole, while they fit."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def add(self, rel: str) -> None:
        """Pin a repo-relative path."""
        if rel not in self.paths:
            self.paths.append(rel)

    def drop(self, rel: str) -> bool:
        """Unpin a path; False when it was not pinned."""
        if rel in self.paths:
            self.paths.remove(rel)
            return True
        return False


class RetrievedContext:
    """Each turn's code: pinned files, then the working set kept by compaction (read afresh), then the
    best retrieved chunks, all within the budget."""

    def __init__(self, index: RepoIndex, workspace: Workspace, counter: TokenCounter, pinned: PinnedFiles,
                 top_k: int = 40) -> None:
        self.index, self.workspace, self.counter, self.pinned, self.top_k = index, workspace, counter, pinned, top_k
        self.working_set: list[str] = []
        self.last: ContextPack | None = None  # for /context
        self.last_pinned: list[tuple[str, int]] = []  # whole files sent, with their token cost

    def context_for(self, question: str, budget: int) -> str:
        """The context message for one user turn ("" when there is nothing to show)."""
        pinned_text, used = self._pinned(budget)
        hits = self.index.search(question, self.top_k)
        self.last = fill_budget(hits, max(0, budget - used), self.counter)
        body = pinned_text + self.last.render()
        return context_message(body) if body else ""

    def _pinned(self, budget: int) -> tuple[str, int]:
        parts: list[str] = []
        used = 0
        self.last_pinned = []
        for rel in dict.fromkeys([*self.pinned.paths, *self.working_set]):
            try:  # the same confinement as the file tools: these paths came from the model
                target = self.workspace.target(rel)
                if target.protected or not target.path.is_file():
                    continue
                text = target.path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
            except (ToolRefused, OSError):
                continue
            block = render_piece(rel, 1, text.count("\n") + 1, "", text)
            cost = self.counter.count(block)
            if used + cost <= budget:
                parts.append(block)
                used += cost
                self.last_pinned.append((rel, cost))
        return "".join(parts), used
