"""The file being chunked: its lines, token counting over them, and spans of lines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Callable, Sequence

from indexer.records import Chunk

# Context header lines are clipped: they orient the embedder, they are not content.
_MAX_HEADER_CHARS = 120
_MAX_HEADERS = 3
# Ranges longer than this many characters per allowed token are first judged by a prefix.
_PREFIX_CHARS_PER_TOKEN = 8


@dataclass(frozen=True, slots=True)
class ChunkLimits:
    """Token limits for chunks, measured with the embedder's own tokenizer."""

    count_tokens: Callable[[str], int]
    max_tokens: int = 256  # the embedder's window: no chunk's embedding_text may exceed it
    min_tokens: int = 48  # adjacent small siblings are merged up to max_tokens
    window_lines: int = 40  # line-window size for the fallback
    # Tokens of each line, special tokens left out, for a tokenizer whose count of
    # newline-joined lines is the sum of theirs (WordPiece: no word spans a newline).
    # Given, a range of rows costs two lookups instead of a tokenizer call.
    count_lines: Callable[[Sequence[str]], list[int]] | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A planned chunk: 0-based inclusive rows plus what the chunk will say about itself.

    `group` names the sibling list the span came from; only spans of one group
    merge. `piece` holds part of a single over-long line (rows are then equal).
    """

    start: int
    end: int
    kind: str
    symbol: str | None
    context: str
    group: int = 0
    packable: bool = False
    tokens: int = -1
    piece: str | None = None

    def with_rows(self, start: int, end: int, tokens: int) -> Span:
        """The same span over other rows."""
        return replace(self, start=start, end=end, tokens=tokens, piece=None)


class Source:
    """One file's text as lines (CR stripped), with cached token counts."""

    def __init__(self, path: str, text: str, limits: ChunkLimits) -> None:
        self.path = path
        self.limits = limits
        # tree-sitter counts rows at "\n" only, so split exactly there.
        self.lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
        self._cache: dict[tuple[str, int, int], int] = {}
        self._context_tokens: dict[str, int] = {}
        self._prefix: list[int] | None = None  # tokens of rows [0, i), when the counter adds up over lines
        self.overhead = self.count("")  # special tokens added to every text

    def count(self, text: str) -> int:
        """Embedder tokens of `text`; lone surrogates are counted as replacement chars."""
        try:
            return self.limits.count_tokens(text)
        except (UnicodeError, TypeError, ValueError):  # lone surrogates from undecodable bytes
            return self.limits.count_tokens(text.encode("utf-8", "replace").decode("utf-8"))

    def blank(self, row: int) -> bool:
        """Whether a row holds only whitespace."""
        return not self.lines[row].strip()

    def trim(self, start: int, end: int) -> tuple[int, int] | None:
        """Rows without leading/trailing blank lines, or None when all are blank."""
        end = min(end, len(self.lines) - 1)
        while start <= end and self.blank(start):
            start += 1
        while end >= start and self.blank(end):
            end -= 1
        return (start, end) if start <= end else None

    def text(self, start: int, end: int) -> str:
        """The source lines start..end (inclusive), joined by newlines."""
        return "\n".join(self.lines[start : end + 1])

    def tokens(self, context: str, start: int, end: int) -> int:
        """Tokens of the embedding text a chunk of these rows would have."""
        if self.limits.count_lines is not None:
            return self._summed_tokens(context, start, end)
        key = (context, start, end)
        if key not in self._cache:
            self._cache[key] = self.count(embedding_text(context, self.text(start, end)))
        return self._cache[key]

    def _summed_tokens(self, context: str, start: int, end: int) -> int:
        """`tokens` from per-line counts: the context's, then the rows' (each line counted once per file)."""
        if self._prefix is None:
            assert self.limits.count_lines is not None
            try:
                per_line = self.limits.count_lines(self.lines)
            except (UnicodeError, TypeError, ValueError):  # lone surrogates from undecodable bytes
                per_line = self.limits.count_lines([ln.encode("utf-8", "replace").decode("utf-8")
                                                    for ln in self.lines])
            self._prefix = [0, *accumulate(per_line)]
        end = min(end, len(self.lines) - 1)
        rows = self._prefix[end + 1] - self._prefix[start] if start <= end else 0
        if not context:
            return self.overhead + rows
        if context not in self._context_tokens:
            self._context_tokens[context] = self.count(context)  # "context\ntext": newline-joined too
        return self._context_tokens[context] + rows

    def fitting_tokens(self, context: str, start: int, end: int) -> int | None:
        """Tokens of these rows with `context`, or None when over max_tokens.

        A long range is first judged by a prefix of whole lines (tokens only
        grow as lines are added), so a huge node costs one small count.
        """
        limit = self.limits.max_tokens
        row, chars = start, 0
        while row <= end and chars <= _PREFIX_CHARS_PER_TOKEN * limit:
            chars += len(self.lines[row]) + 1
            row += 1
        if row <= end and self.tokens(context, start, row - 1) > limit:
            return None
        tokens = self.tokens(context, start, end)
        return tokens if tokens <= limit else None

    def context(self, headers: list[str]) -> str:
        """The path line plus enclosing headers (innermost kept first), under half the budget."""
        budget = self.limits.max_tokens // 2
        heads = [h.strip()[:_MAX_HEADER_CHARS] for h in headers if h.strip()][-_MAX_HEADERS:]
        path_line = f"# path: {self.path}"
        choices = [heads[i:] for i in range(len(heads))] + [heads[:1], []]
        for path in (path_line, path_line[:80]):
            for kept in choices:
                ctx = "\n".join([path, *kept])
                if self.count(ctx) <= budget:
                    return ctx
        return ""

    def to_chunk(self, span: Span, language: str) -> Chunk:
        """The record for a span."""
        text = span.piece if span.piece is not None else self.text(span.start, span.end)
        return Chunk(
            path=self.path,
            start_line=span.start + 1,
            end_line=span.end + 1,
            language=language,
            kind=span.kind,
            symbol=span.symbol,
            context=span.context,
            text=text,
        )


def embedding_text(context: str, text: str) -> str:
    """What the embedder reads for a chunk (mirrors `Chunk.embedding_text`)."""
    return f"{context}\n{text}" if context else text
