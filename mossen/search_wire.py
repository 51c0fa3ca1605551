"""What a search asks and answers, in a form that crosses a socket: the warm server's wire format.

Kept apart from the search itself so the CLI can talk to the server without
importing the search stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.records import SearchHit


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What `mossen search` asks."""

    query: str
    top_k: int = 10
    language: str | None = None
    glob: str | None = None
    refresh: bool = True

    def to_wire(self) -> dict[str, Any]:
        """The request as the client sends it."""
        return {"query": self.query, "top_k": self.top_k, "language": self.language, "glob": self.glob,
                "refresh": self.refresh}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "SearchRequest":
        """The request a client sent (ValueError when it is not one)."""
        if not isinstance(data.get("query"), str):
            raise ValueError("a search request needs a query")
        return cls(data["query"], int(data.get("top_k", 10)), data.get("language"), data.get("glob"),
                   bool(data.get("refresh", True)))


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """Hits, how much of the index the dense signal covers, and what the refresh did."""

    hits: list[SearchHit]
    embedded: int  # chunks with a vector
    chunks: int
    refreshed: tuple[int, int] = (0, 0)  # files re-indexed, files removed
    notes: tuple[str, ...] = field(default=())  # e.g. why the index was not refreshed

    def to_wire(self) -> dict[str, Any]:
        """The answer as the server sends it (hits with their text, for rendering)."""
        return {"hits": [{**h.to_json(), "text": h.text} for h in self.hits], "embedded": self.embedded,
                "chunks": self.chunks, "refreshed": list(self.refreshed), "notes": list(self.notes)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "SearchAnswer":
        """The answer a server sent."""
        hits = [SearchHit(h["path"], h["start_line"], h["end_line"], h["symbol"], h["language"], h["score"],
                          h.get("kind", "block"), h.get("text", ""), h.get("scores", {})) for h in data["hits"]]
        return cls(hits, int(data["embedded"]), int(data["chunks"]), tuple(data.get("refreshed", (0, 0))),
                   tuple(data.get("notes", ())))
