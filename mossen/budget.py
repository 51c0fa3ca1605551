"""The context budget: how many tokens code may take, and filling them with the best chunks.

    window - reserved output - system prompt - history - question = the budget for code

Chunks go in best-ranked first; a chunk adjacent to or overlapping one already
in from the same file is merged into it; a chunk is never cut (a syntax unit
goes in whole or not at all); the result is ordered by file and line and each
piece is labelled `path:start-end`. Every piece is counted as rendered plus
`PIECE_MARGIN` (a tokenizer may merge across the seam between two pieces
differently than it does at a piece's end), so the sum of the pieces' tokens is
at least what the code takes, and it never exceeds the budget. Each message also
costs `MESSAGE_OVERHEAD` tokens of chat template (role markers and separators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from indexer import SearchHit
from mossen.tokens import estimate_tokens


PIECE_MARGIN = 2
MESSAGE_OVERHEAD = 8


def messages_overhead(count: int) -> int:
    """Chat-template tokens of `count` messages (role markers, separators), a generous bound."""
    return MESSAGE_OVERHEAD * (count + 1)


class TokenCounter(Protocol):
    """Counts tokens of a text for one model."""

    def count(self, text: str) -> int:
        """Tokens of `text`; may over-count, must never under-count."""
        ...


class EstimatingCounter:
    """The conservative local estimate (mossen.tokens)."""

    def count(self, text: str) -> int:
        """An upper bound of the tokens of `text`."""
        return estimate_tokens(text)


@dataclass(frozen=True, slots=True)
class Budget:
    """Where a model's window goes; `code` is what retrieved code may use."""

    window: int
    reserved_output: int
    system: int
    history: int
    question: int
    code: int

    @classmethod
    def split(cls, window: int, reserved_output: int, system: int, history: int, question: int,
              cap: int | None = None) -> "Budget":
        """The code budget left by the rest, at most `cap` when given, never below zero."""
        room = max(0, window - reserved_output - system - history - question)
        return cls(window, reserved_output, system, history, question, min(room, cap) if cap is not None else room)


@dataclass(frozen=True, slots=True)
class ContextPiece:
    """A span of one file in the context: one chunk or several merged."""

    path: str
    start_line: int
    end_line: int
    language: str
    text: str
    tokens: int  # of the rendered piece, label and fence included, plus PIECE_MARGIN
    rank: int  # best retrieval rank among its chunks (0 = best)
    symbols: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`path:start-end`, how the piece is cited."""
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_json(self) -> dict[str, object]:
        """The `--show-context --json` form of a piece."""
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "tokens": self.tokens, "rank": self.rank + 1, "symbols": list(self.symbols),
                "language": self.language, "scores": {k: round(v, 6) for k, v in self.scores.items()}}


@dataclass(frozen=True, slots=True)
class ContextPack:
    """The code chosen for one question, in the order it is sent."""

    budget: int
    pieces: tuple[ContextPiece, ...]
    candidates: int  # chunks retrieved
    left_out: int  # retrieved chunks that did not fit

    @property
    def total_tokens(self) -> int:
        """Tokens the code takes, as rendered."""
        return sum(p.tokens for p in self.pieces)

    def render(self) -> str:
        """The pieces as labelled, fenced blocks."""
        return "".join(render_piece(p.path, p.start_line, p.end_line, p.language, p.text) for p in self.pieces)

    def to_json(self) -> dict[str, object]:
        """The `--show-context --json` object."""
        return {"budget": self.budget, "total_tokens": self.total_tokens, "candidates": self.candidates,
                "left_out": self.left_out, "chunks": [p.to_json() for p in self.pieces]}


def render_piece(path: str, start: int, end: int, language: str, text: str) -> str:
    """One labelled code block, exactly as it appears in the prompt."""
    fence = "````" if "```" in text else "```"
    return f"{path}:{start}-{end}\n{fence}{language}\n{text}\n{fence}\n\n"


@dataclass
class _Span:
    path: str
    language: str
    lines: dict[int, str]
    rank: int
    symbols: list[str]
    scores: dict[str, float]
    mergeable: bool
    tokens: int = 0

    @property
    def start(self) -> int:
        return min(self.lines)

    @property
    def end(self) -> int:
        return max(self.lines)

    def text(self) -> str:
        return "\n".join(self.lines[n] for n in range(self.start, self.end + 1))

    def touches(self, other: "_Span") -> bool:
        """Same file, overlapping or adjacent, and agreeing on the lines both hold."""
        return (self.mergeable and other.mergeable and self.path == other.path
                and self.start <= other.end + 1 and other.start <= self.end + 1
                and all(self.lines[n] == other.lines[n] for n in self.lines.keys() & other.lines.keys()))


def _span(hit: SearchHit, rank: int) -> _Span:
    lines = hit.text.split("\n")
    whole = len(lines) == hit.end_line - hit.start_line + 1  # pieces of one long line are not mergeable
    numbered = {hit.start_line + i: line for i, line in enumerate(lines)} if whole else {hit.start_line: hit.text}
    scores = {"fused": hit.score, **hit.scores}
    return _Span(hit.path, hit.language, numbered, rank, [hit.symbol] if hit.symbol else [], scores, whole)


def _merge(spans: list[_Span]) -> _Span:
    best = min(spans, key=lambda s: s.rank)
    lines: dict[int, str] = {}
    for s in spans:
        lines.update(s.lines)
    symbols = list(dict.fromkeys(sym for s in sorted(spans, key=lambda s: s.rank) for sym in s.symbols))
    return _Span(best.path, best.language, lines, best.rank, symbols, best.scores, True)


def _cost(span: _Span, counter: TokenCounter) -> int:
    return counter.count(render_piece(span.path, span.start, span.end, span.language, span.text())) + PIECE_MARGIN


def fill_budget(hits: Sequence[SearchHit], budget: int, counter: TokenCounter) -> ContextPack:
    """The best hits that fit in `budget` tokens, merged per file, ordered by file and line."""
    spans: list[_Span] = []
    used = left_out = 0
    for rank, hit in enumerate(hits):
        new = _span(hit, rank)
        touching = [s for s in spans if s.touches(new)]
        candidate = _merge([*touching, new]) if touching else new
        if touching and candidate.lines.keys() == _merge(touching).lines.keys():
            continue  # already wholly inside the context
        candidate.tokens = _cost(candidate, counter)
        grown = used - sum(s.tokens for s in touching) + candidate.tokens
        if grown > budget:
            left_out += 1
            continue
        spans = [s for s in spans if all(s is not t for t in touching)] + [candidate]
        used = grown
    file_rank = {}
    for s in sorted(spans, key=lambda s: s.rank):
        file_rank.setdefault(s.path, len(file_rank))
    ordered = sorted(spans, key=lambda s: (file_rank[s.path], s.start))
    pieces = tuple(ContextPiece(s.path, s.start, s.end, s.language, s.text(), s.tokens, s.rank,
                                tuple(s.symbols), s.scores) for s in ordered)
    return ContextPack(budget, pieces, len(hits), left_out)
