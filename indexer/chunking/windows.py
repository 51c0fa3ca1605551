"""Fitting rows into the token budget: greedy line packing, cutting long lines, line windows."""

from __future__ import annotations

from indexer.chunking.source import Source, Span, embedding_text

# Cut points preferred when a long line must be split (not inside an identifier).
_CUT_AFTER = " \t,;{}()[]"


def fit(src: Source, span: Span) -> list[Span]:
    """`span` as one or more spans whose embedding text fits max_tokens, in order."""
    rows = src.trim(span.start, span.end)
    if rows is None:
        return []
    start, end = rows
    tokens = src.fitting_tokens(span.context, start, end)
    if tokens is not None:
        return [span.with_rows(start, end, tokens)]
    return _pack_lines(src, span, start, end)


def windows(src: Source, context: str, group: int = 0) -> list[Span]:
    """The whole file as windows of `window_lines` lines, each fitted to the budget."""
    size = max(1, src.limits.window_lines)
    out: list[Span] = []
    for first in range(0, len(src.lines), size):
        last = min(first + size, len(src.lines)) - 1
        out.extend(fit(src, Span(first, last, "window", None, context, group)))
    return out


def _pack_lines(src: Source, span: Span, start: int, end: int) -> list[Span]:
    """Greedy runs of whole lines under the budget; lines too long alone are cut."""
    limit = src.limits.max_tokens
    out: list[Span] = []
    row = start
    while row <= end:
        if src.blank(row):
            row += 1
            continue
        if src.tokens(span.context, row, row) > limit:
            out.extend(_cut_line(src, span, row))
            row += 1
            continue
        last = _longest_fit(src, span.context, row, end)
        rows = src.trim(row, last)
        if rows is not None:
            out.append(span.with_rows(rows[0], rows[1], src.tokens(span.context, *rows)))
        row = last + 1
    return out


def _longest_fit(src: Source, context: str, row: int, end: int) -> int:
    """The last row such that rows row..last fit (row alone is known to fit).

    Galloping then bisecting costs O(log n) counts per chunk, where counting
    line by line would cost one tokenizer call per line.
    """
    limit = src.limits.max_tokens
    fits, step = row, 1
    while True:
        probe = min(fits + step, end)
        if probe == fits:
            return fits
        if src.tokens(context, row, probe) > limit:
            too_big = probe
            break
        fits, step = probe, step * 2
    while too_big - fits > 1:
        middle = (fits + too_big) // 2
        if src.tokens(context, row, middle) <= limit:
            fits = middle
        else:
            too_big = middle
    return fits


def _cut_line(src: Source, span: Span, row: int) -> list[Span]:
    """One over-long line as consecutive pieces, each under the budget."""
    line = src.lines[row]
    limit = src.limits.max_tokens
    context = span.context
    out: list[Span] = []
    pos, size = 0, max(1, limit * 2)
    while pos < len(line):
        size = min(size, len(line) - pos)
        tokens = src.count(embedding_text(context, line[pos : pos + size]))
        while tokens > limit and size > 1:
            size = max(1, min(size - 1, int(size * limit / tokens * 0.9)))
            tokens = src.count(embedding_text(context, line[pos : pos + size]))
        if tokens > limit:  # one character over budget: only the context can go
            context = ""
            tokens = src.count(line[pos : pos + size])
        size, tokens = _nicer_cut(src, context, line, pos, size, tokens)
        piece = line[pos : pos + size]
        out.append(Span(row, row, span.kind, span.symbol, context, span.group, False, tokens, piece))
        pos += size
        size = size + size // 4 + 1
    return out


def _nicer_cut(src: Source, context: str, line: str, pos: int, size: int, tokens: int) -> tuple[int, int]:
    """Move a cut back to just after a separator when one is near, to keep words whole."""
    if pos + size >= len(line):
        return size, tokens
    for back in range(0, max(1, size // 5)):
        if line[pos + size - 1 - back] in _CUT_AFTER:
            shorter = size - back
            if shorter <= 0:
                break
            count = src.count(embedding_text(context, line[pos : pos + shorter]))
            if count <= src.limits.max_tokens:
                return shorter, count
            break
    return size, tokens
