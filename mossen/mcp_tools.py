"""What `mossen mcp` serves, without the protocol: search, context, line ranges and status of one repository.

Each tool reuses the code path of the command a person would run, so a client
sees the same answer:

    search_code    mossen search --json          (search_service.answer, SearchHit.to_json)
    get_context    mossen ask --show-context     (ask.plan_ask over the same retrieval)
    read_chunk     the indexer's discovery and reading rules (chunk_reader)
    index_status   mossen status --json          (indexer.index_status)

Read-only for the user's files: a search may refresh the *index* (as `mossen
search` does unless --no-refresh), never the repository. Code text handed out
(get_context, read_chunk) has secrets redacted, since the client's model may be
remote. One `RepoTools` keeps its index open; it is used from one thread only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from indexer import IndexSettings, Searcher, SearchOptions, index_status
from mossen.ask import plan_ask
from mossen.budget import EstimatingCounter
from mossen.change_probe import ChangeProbe
from mossen.chunk_reader import read_lines
from mossen.errors import UsageError
from mossen.privacy import Redactor
from mossen.search_service import answer, refresh
from mossen.search_wire import SearchRequest

MAX_TOP_K = 1000  # as `mossen search --top-k`


@dataclass(frozen=True, slots=True)
class ToolDefaults:
    """The config values the tools fall back on (search.top_k, ask.budget, ask.top_k) and refreshing."""

    top_k: int = 10
    budget: int = 4000
    context_top_k: int = 60
    refresh: bool = True


class RepoTools:
    """The four read-only tools over one repository's index."""

    def __init__(self, repo: Path, settings: IndexSettings, defaults: ToolDefaults) -> None:
        self.repo = repo.resolve()
        self.settings = settings
        self.defaults = defaults
        self._searcher: Searcher | None = None
        self._redactor = Redactor()
        self._probe = ChangeProbe(self.repo)

    def close(self) -> None:
        """Close the index if it was opened."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def search_code(self, query: str, top_k: int | None = None, language: str | None = None,
                    path_glob: str | None = None) -> list[dict[str, object]]:
        """Hybrid search: the `mossen search --json` array, best first."""
        request = SearchRequest(_query(query), _top_k(top_k, self.defaults.top_k), language or None,
                                path_glob or None, self.defaults.refresh)
        found = answer(self._open(), self.repo, self.settings, request, self._probe)
        return [hit.to_json() for hit in found.hits]

    def get_context(self, question: str, budget: int | None = None) -> dict[str, Any]:
        """The `mossen ask --show-context --json` object, plus the code itself as it would be sent."""
        question = _query(question)
        if budget is not None and budget < 0:
            raise UsageError("budget must be 0 or more tokens")
        if self.defaults.refresh:
            refresh(self.repo, self.settings)
        searcher = self._open()
        searcher.sync()
        hits = searcher.search(question, SearchOptions(top_k=self.defaults.context_top_k))
        plan = plan_ask(question, hits, EstimatingCounter(), self.defaults.budget if budget is None else budget)
        code, findings = self._redactor.redact(plan.pack.render())
        return {**plan.pack.to_json(), "context": code, "redacted": len(findings)}

    def read_chunk(self, path: str, start_line: int = 1, end_line: int | None = None) -> dict[str, Any]:
        """Lines of one file the indexer would read (see chunk_reader), secrets redacted."""
        lines = read_lines(self.repo, self.settings, path, start_line, end_line)
        text, findings = self._redactor.redact(lines.text)
        return {**lines.to_json(), "text": text, "redacted": len(findings)}

    def index_status(self) -> dict[str, Any]:
        """The `mossen status --json` object, plus whether every chunk has its vector."""
        status = index_status(self.repo, self.settings)
        return {**asdict(status), "dense_complete": status.exists and status.pending_chunks == 0}

    def _open(self) -> Searcher:
        """The open index (IndexMissingError until `mossen index` has run; opened on a later call then)."""
        if self._searcher is None:
            self._searcher = Searcher(self.repo, self.settings)
        return self._searcher


def _query(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise UsageError("the query must not be empty")
    return text


def _top_k(top_k: int | None, default: int) -> int:
    if top_k is None:
        return default
    if not 1 <= top_k <= MAX_TOP_K:
        raise UsageError(f"top_k must be between 1 and {MAX_TOP_K}")
    return top_k
