"""search_code: the hybrid index, re-indexed first when the agent has changed files."""

from __future__ import annotations

from typing import Any, Callable

from indexer import SearchHit
from mossen.agent.records import Action, ToolResult
from mossen.agent.tools.args import capped, int_arg, text_arg
from mossen.providers.base import ToolSpec

MAX_OUTPUT = 20_000
Searcher = Callable[[str, int], list[SearchHit]]


class SearchCode:
    """search_code(query, top_k): the best chunks for a question, with their code."""

    effect = "read"
    spec = ToolSpec("search_code", "Search the repository's index (meaning and identifiers) for code relevant to a "
                    "question or name; returns path:start-end, symbol and code of the best chunks.",
                    {"type": "object", "additionalProperties": False, "required": ["query"],
                     "properties": {"query": {"type": "string", "description": "words or identifiers"},
                                    "top_k": {"type": "integer", "description": "how many chunks (default 5)"}}})

    def __init__(self, search: Searcher) -> None:
        self.search = search

    def plan(self, arguments: dict[str, Any]) -> Action:
        text_arg(arguments, "query")
        int_arg(arguments, "top_k", 5, 1, 30)
        return Action("search_code", "read")

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        hits = self.search(text_arg(arguments, "query"), int_arg(arguments, "top_k", 5, 1, 30))
        if not hits:
            return ToolResult("no results")
        blocks = [f"{h.path}:{h.start_line}-{h.end_line}" + (f"  {h.symbol}" if h.symbol else "")
                  + f"\n```{h.language}\n{h.text}\n```" for h in hits]
        return ToolResult(capped("\n\n".join(blocks), MAX_OUTPUT))
