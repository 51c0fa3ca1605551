"""Typed records that cross the indexer's public API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True, slots=True)
class Chunk:
    """A syntax unit of one file: what is embedded, indexed and returned by search.

    `context` is the enclosing-scope header (e.g. ``class Pool:`` and the
    signature) prepended to `text` for embedding, so a method is embedded
    knowing the class it belongs to.
    """

    path: str  # repo-relative, "/" separators
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    language: str
    kind: str  # function | method | class | block | section | window
    symbol: str | None  # qualified name, e.g. "Pool.close"
    context: str
    text: str

    @property
    def embedding_text(self) -> str:
        """The exact text handed to the embedder."""
        return f"{self.context}\n{self.text}" if self.context else self.text



def chunk_ids(chunks: list[Chunk]) -> list[str]:
    """Deterministic ids, unique within a file: path, lines and text, plus an ordinal for repeats.

    Pieces of one long line can share path, lines and text (minified code), so a
    repeat gets the number of its earlier twins mixed in.
    """
    ids: list[str] = []
    seen: dict[tuple[int, int, str], int] = {}
    for c in chunks:
        twins = seen.get((c.start_line, c.end_line, c.text), 0)
        seen[(c.start_line, c.end_line, c.text)] = twins + 1
        key = f"{c.path}\0{c.start_line}\0{c.end_line}\0{c.text}" + (f"\0{twins}" if twins else "")
        ids.append(hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return ids


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file discovery or reading left out, and why (shown to the user)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result, best first; fields match the `--json` contract."""

    path: str
    start_line: int
    end_line: int
    symbol: str | None
    language: str
    score: float
    kind: str = "block"
    text: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The search contract's JSON object (DESIGN.md)."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "language": self.language,
            "score": round(self.score, 6),
            "kind": self.kind,
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
        }


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A progress report from long work; `total` is None while unknown."""

    phase: str  # discover | index | lexical (searchable) | embed | repair
    done: float  # units of `total` (files); fractional while a batch is being embedded
    total: int | None = None
    chunks: int = 0  # chunks produced so far
    embedded: int = 0  # texts run through the model so far
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """A progress callback that ignores every event."""


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What one `index_repo` run did."""

    repo: str
    index_dir: str
    files_seen: int
    files_changed: int
    files_unchanged: int
    files_deleted: int
    chunks_total: int
    chunks_added: int
    chunks_removed: int
    embedded: int  # texts actually run through the model
    embed_cache_hits: int
    repaired: int  # orphan vectors removed / missing vectors made pending again
    skipped: tuple[SkippedFile, ...]
    seconds: float
    pending: int = 0  # chunks still without a vector (dense search does not see them yet)
    lexical_seconds: float = 0.0  # when the lexical index was complete and searchable


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """The state of one repository's index, for `mossen status`."""

    repo: str
    index_dir: str
    exists: bool
    files: int = 0
    chunks: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    model: str | None = None
    dimension: int | None = None
    size_bytes: int = 0
    last_indexed: float | None = None
    stale_files: int = 0
    skipped_files: int = 0
    pending_chunks: int = 0  # chunks without a vector yet (embedding not finished)
