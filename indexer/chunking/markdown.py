"""Markdown by headings: one section per heading, named by its heading path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.chunking.merge import merge_siblings
from indexer.chunking.source import Source, Span
from indexer.chunking.windows import fit

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading: its 0-based row, level 1-6 and title."""

    row: int
    level: int
    title: str


def headings(lines: list[str]) -> list[Heading]:
    """ATX and setext headings outside fenced code and YAML front matter."""
    found: list[Heading] = []
    fence: str | None = None
    row = _front_matter_end(lines)
    while row < len(lines):
        line = lines[row]
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif opened:
            fence = opened.group(1)
        elif (atx := _ATX.match(line)) is not None:
            found.append(Heading(row, len(atx.group(1)), (atx.group(2) or "").strip()))
        elif _is_setext(lines, row, found):
            level = 1 if lines[row + 1].strip()[0] == "=" else 2
            found.append(Heading(row, level, line.strip()))
            row += 1
        row += 1
    return found


def markdown_spans(src: Source) -> list[Span]:
    """Sections between headings; a section too big is packed by paragraphs."""
    found = headings(src.lines)
    out: list[Span] = []
    starts = [h.row for h in found]
    if not starts or starts[0] > 0:
        out.extend(_section(src, 0, (starts or [len(src.lines)])[0] - 1, None, [], 0))
    trail: list[Heading] = []
    for i, heading in enumerate(found):
        while trail and trail[-1].level >= heading.level:
            trail.pop()
        parents = [src.lines[h.row] for h in trail]
        trail.append(heading)
        symbol = " > ".join(h.title for h in trail if h.title) or None
        end = found[i + 1].row - 1 if i + 1 < len(found) else len(src.lines) - 1
        out.extend(_section(src, heading.row, end, symbol, parents, i + 1))
    return merge_siblings(src, out)


def _section(src: Source, start: int, end: int, symbol: str | None, parents: list[str], group: int) -> list[Span]:
    """One section as a span, or packed paragraph spans when it is too big."""
    rows = src.trim(start, end)
    if rows is None:
        return []
    context = src.context(parents)
    tokens = src.fitting_tokens(context, *rows)
    if tokens is not None:
        return [Span(rows[0], rows[1], "section", symbol, context, group, tokens=tokens)]
    out: list[Span] = []
    first = rows[0]
    for row in range(rows[0], rows[1] + 2):
        if row > rows[1] or src.blank(row):
            if first < row:
                para = Span(first, row - 1, "section", symbol, context, group, packable=True)
                out.extend(fit(src, para))
            first = row + 1
    return out


def _is_setext(lines: list[str], row: int, found: list[Heading]) -> bool:
    """A paragraph line underlined by === or --- (not a list item, not after a heading)."""
    if row + 1 >= len(lines) or not lines[row].strip() or not _SETEXT.match(lines[row + 1]):
        return False
    if found and found[-1].row == row - 1:
        return False
    text = lines[row].lstrip()
    return not text.startswith(("- ", "* ", "+ ", ">", "|")) and len(lines[row]) - len(text) < 4


def _front_matter_end(lines: list[str]) -> int:
    """The first row after a leading `---` YAML block (0 when there is none)."""
    if not lines or lines[0].strip() != "---":
        return 0
    for row in range(1, len(lines)):
        if lines[row].strip() in ("---", "..."):
            return row + 1
    return 0
