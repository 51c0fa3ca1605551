"""Chunking source files into embeddable pieces: a pure function of (path, text, language).

Syntax languages are chunked by definitions (tree-sitter queries in
`queries/<language>.scm`), Markdown by headings, everything else by line
windows. Every non-blank line lands in exactly one chunk and no chunk's
embedding text exceeds `ChunkLimits.max_tokens`; any input that defeats the
syntax path falls back to windows rather than raising.
"""

from __future__ import annotations

from indexer.chunking.markdown import markdown_spans
from indexer.chunking.merge import merge_siblings
from indexer.chunking.source import ChunkLimits, Source, Span
from indexer.chunking.syntax import SyntaxChunker
from indexer.chunking.windows import fit, windows
from indexer.languages import SYNTAX_LANGUAGES
from indexer.records import Chunk

__all__ = ["Chunker", "ChunkLimits"]


class Chunker:
    """Holds parsers and compiled queries; create once, call many times."""

    def __init__(self, limits: ChunkLimits) -> None:
        self.limits = limits
        self._syntax = SyntaxChunker()

    def chunk(self, path: str, source: str, language: str | None) -> list[Chunk]:
        """The chunks of one file, sorted by line; [] for an empty or blank file."""
        if not source or source.isspace():
            return []
        src = Source(path, source, self.limits)
        try:
            spans = self._plan(src, source, language)
        except Exception:  # noqa: BLE001 - a grammar quirk must never lose a file
            spans = None
        if spans is None or not _valid(src, spans):
            spans = windows(src, src.context([]))
        return [src.to_chunk(span, language or "text") for span in spans]

    def _plan(self, src: Source, text: str, language: str | None) -> list[Span] | None:
        if language in SYNTAX_LANGUAGES:
            spans = self._syntax.spans(src, text, language)  # type: ignore[arg-type]
        elif language == "markdown":
            spans = markdown_spans(src)
        else:
            return None
        return None if spans is None else _cover(src, spans)


def _cover(src: Source, spans: list[Span]) -> list[Span]:
    """Add block chunks for any non-blank rows no span claimed (a safety net)."""
    covered = bytearray(len(src.lines))
    for span in spans:
        covered[span.start : span.end + 1] = b"\1" * (span.end - span.start + 1)
    context = src.context([])
    extra: list[Span] = []
    row = 0
    while row < len(src.lines):
        if covered[row] or src.blank(row):
            row += 1
            continue
        last = row
        while last + 1 < len(src.lines) and not covered[last + 1]:
            last += 1
        extra.extend(fit(src, Span(row, last, "block", None, context, group=-1, packable=True)))
        row = last + 1
    if not extra:
        return spans
    return merge_siblings(src, sorted(spans + extra, key=lambda s: (s.start, s.end)))


def _valid(src: Source, spans: list[Span]) -> bool:
    """Sorted, disjoint (pieces of one cut line excepted), and every span within budget."""
    limit = src.limits.max_tokens
    prev: Span | None = None
    for span in spans:
        if not 0 <= span.tokens <= limit or span.start > span.end:
            return False
        if prev is not None and span.start <= prev.end:
            same_line_pieces = prev.piece is not None and span.piece is not None and span.start == prev.end
            if not same_line_pieces:
                return False
        prev = span
    return True
