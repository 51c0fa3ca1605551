"""Merging adjacent sibling spans: packing plain statements, and joining tiny definitions."""

from __future__ import annotations

from dataclasses import replace

from indexer.chunking.source import Source, Span


def merge_siblings(src: Source, spans: list[Span]) -> list[Span]:
    """Merge neighbours of one sibling list while the result fits max_tokens.

    Two plain (packable) spans always pack together; otherwise only runs made
    entirely of spans under min_tokens merge, so a real function or class keeps
    its own chunk. A merged run is named after its first named member.
    """
    limits = src.limits
    out: list[Span] = []
    small_run: list[bool] = []  # per output span: made only of small spans
    for span in spans:
        small = 0 <= span.tokens < limits.min_tokens
        if out and _can_join(out[-1], span, small_run[-1] and small, limits.max_tokens, src):
            merged = _join(src, out[-1], span)
            if merged.tokens <= limits.max_tokens:
                out[-1] = merged
                small_run[-1] = small_run[-1] and small
                continue
        out.append(span)
        small_run.append(small)
    return out


def _can_join(left: Span, right: Span, both_small: bool, limit: int, src: Source) -> bool:
    """Whether two neighbours may merge, judged without counting the merged text."""
    if left.group != right.group or left.context != right.context:
        return False
    if left.piece is not None or right.piece is not None:
        return False
    if not (both_small or (left.packable and right.packable)):
        return False
    # Newline-joined texts add their tokens (less one set of special tokens).
    return left.tokens + right.tokens - src.overhead <= limit


def _join(src: Source, left: Span, right: Span) -> Span:
    """The span covering both; named after the first named member."""
    named = left if left.symbol is not None or left.kind != "block" else right
    tokens = src.tokens(left.context, left.start, right.end)
    return replace(
        left,
        end=right.end,
        kind=named.kind,
        symbol=named.symbol,
        packable=left.packable and right.packable,
        tokens=tokens,
    )
