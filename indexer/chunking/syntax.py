"""Chunking by syntax: definitions become chunks, big ones split at their children.

The tree is walked with explicit stacks, never Python recursion, so a file of
100,000 nested brackets costs time proportional to its size and no stack depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tree_sitter import Node, Parser, Query
from tree_sitter_language_pack import get_language, get_parser

from indexer.chunking.definitions import Definition, DefinitionIndex, find_definitions, load_query
from indexer.chunking.merge import merge_siblings
from indexer.chunking.source import Source, Span
from indexer.chunking.windows import fit

# Splitting deeper than this stops at line packing: real code never needs it.
MAX_SPLIT_DEPTH = 48
# Node visits per file before giving up on syntax (the caller then uses windows).
MAX_VISITS = 500_000
# A tree with an ERROR node this wide (e.g. 100,000 unclosed brackets) is not code.
MAX_ERROR_CHILDREN = 5_000
MAX_ERROR_VISITS = 100_000
# Sibling nodes folded into the definition right below them (doc comments, attributes).
_ATTRIBUTE_TYPES = frozenset({"attribute_item"})


class SyntaxTooComplex(Exception):
    """The tree is too large or deep to lay out; the file falls back to windows."""


@dataclass(slots=True)
class _Unit:
    """Sibling nodes on a run of rows, chunked together (one definition at most)."""

    start: int
    end: int
    nodes: list[Node]
    definition: Definition | None = None
    trivia_only: bool = False


@dataclass(frozen=True, slots=True)
class _Scope:
    names: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    owner: Definition | None = None


@dataclass(frozen=True, slots=True)
class _Task:
    """Lay out `nodes` as sibling chunks; plain pieces are called `kind`/`symbol`."""

    nodes: list[Node]
    scope: _Scope
    mode: str  # members | class | body
    kind: str = "block"
    symbol: str | None = None
    depth: int = 0
    header_context: str = ""  # class mode: the context of the class-header chunk
    group: int = 0  # the sibling group to join (0: a new one)


class SyntaxChunker:
    """Parsers and compiled definition queries per language, created on first use."""

    def __init__(self) -> None:
        self._grammars: dict[str, tuple[Parser, Query]] = {}

    def spans(self, src: Source, text: str, language: str) -> list[Span] | None:
        """Planned chunks of a file, or None when its syntax gives nothing sensible."""
        parser, query = self._grammar(language)
        tree = parser.parse(text.encode("utf-8", "replace"))
        root = tree.root_node
        if root.has_error and _badly_broken(root):
            return None
        definitions = DefinitionIndex(find_definitions(query, root))
        if root.has_error and not definitions:
            return None
        return _Layout(src, definitions).run(root)

    def _grammar(self, language: str) -> tuple[Parser, Query]:
        if language not in self._grammars:
            query = load_query(get_language(language), language)  # type: ignore[arg-type]
            self._grammars[language] = (get_parser(language), query)  # type: ignore[arg-type]
        return self._grammars[language]


def _badly_broken(root: Node) -> bool:
    """Whether error recovery left a huge ERROR node (queries over one are quadratic).

    Only nodes on the way to an error are visited, so valid regions cost nothing.
    """
    stack, visits = [root], 0
    while stack:
        node = stack.pop()
        visits += 1
        if visits > MAX_ERROR_VISITS or (node.type == "ERROR" and node.child_count > MAX_ERROR_CHILDREN):
            return True
        stack.extend(child for child in node.children if child.has_error)
    return False


def node_rows(node: Node, lines: list[str]) -> tuple[int, int]:
    """0-based first and last rows of a node, not counting a trailing newline or indent.

    Some grammars (Scala, Kotlin) end a node after the newline and even after the
    next line's indentation; that row holds none of its text.
    """
    start, end = node.start_point.row, node.end_point.row
    if end > start and end < len(lines):
        column = node.end_point.column
        line = lines[end]
        if column <= len(line) - len(line.lstrip()):
            end -= 1
    return start, end


def _is_trivia(node: Node) -> bool:
    return "comment" in node.type or node.type in _ATTRIBUTE_TYPES


@dataclass(slots=True)
class _Layout:
    """The per-file walk: turns tasks into spans, in source order."""

    src: Source
    definitions: DefinitionIndex
    visits: int = 0
    groups: int = 0
    contexts: dict[tuple[str, ...], str] = field(default_factory=dict)

    def run(self, root: Node) -> list[Span]:
        """All spans of the file, merged among siblings."""
        out: list[Span] = []
        stack: list[Span | _Task] = [_Task(list(root.children), _Scope(), "members")]
        while stack:
            item = stack.pop()
            if isinstance(item, Span):
                out.append(item)
            else:
                stack.extend(reversed(self._layout(item)))
        return merge_siblings(self.src, out)

    def _layout(self, task: _Task) -> list[Span | _Task]:
        units = self._units(task.nodes)
        self.groups += 1
        group = task.group or self.groups
        if task.mode == "class":
            return self._class_items(units, task, group)
        items: list[Span | _Task] = []
        for unit in units:
            items.extend(self._unit_items(unit, task, group))
        return items

    def _class_items(self, units: list[_Unit], task: _Task, group: int) -> list[Span | _Task]:
        """A class too big for one chunk: a header chunk, then one item per member."""
        first = next((i for i, u in enumerate(units) if u.definition), len(units))
        items: list[Span | _Task] = []
        if first:
            header = Span(units[0].start, units[first - 1].end, task.kind, task.symbol, task.header_context, group)
            items.extend(fit(self.src, header))
        members = replace(task, mode="members", kind="block", symbol=None)
        for unit in units[first:]:
            items.extend(self._unit_items(unit, members, group))
        return items

    def _unit_items(self, unit: _Unit, task: _Task, group: int) -> list[Span | _Task]:
        if unit.definition is not None:
            return self._definition_items(unit, unit.definition, task, group)
        rows = self.src.trim(unit.start, unit.end)
        if rows is None:
            return []
        context = self._context(task.scope.headers)
        span = Span(rows[0], rows[1], task.kind, task.symbol, context, group, packable=True)
        tokens = self.src.fitting_tokens(context, *rows)
        if tokens is not None:
            return [replace(span, tokens=tokens)]
        # Children of a one-row unit share its row: only cutting the line helps.
        one_row = rows[0] == rows[1]
        if one_row or task.depth >= MAX_SPLIT_DEPTH or not any(node.child_count for node in unit.nodes):
            return list(fit(self.src, span))
        # Leaves (a closing `}` absorbed into this unit) stay as themselves.
        children = [child for node in unit.nodes for child in (node.children or [node])]
        # Same group: the pieces of a split statement pack with their neighbours.
        return [_Task(children, task.scope, "body", task.kind, task.symbol, task.depth + 1, group=group)]

    def _definition_items(
        self, unit: _Unit, definition: Definition, task: _Task, group: int
    ) -> list[Span | _Task]:
        """One chunk for a definition that fits; else a task splitting it at its children."""
        rows = self.src.trim(unit.start, unit.end)
        if rows is None:
            return []
        kind, symbol = _kind(definition, task.scope), _symbol(definition, task.scope)
        context = self._context(task.scope.headers)
        span = Span(rows[0], rows[1], kind, symbol, context, group)
        tokens = self.src.fitting_tokens(context, *rows)
        if tokens is not None:
            return [replace(span, tokens=tokens)]
        if task.depth >= MAX_SPLIT_DEPTH or rows[0] == rows[1]:
            return list(fit(self.src, span))
        header = self.src.lines[definition.header_row]
        inner = _Scope(
            task.scope.names + (definition.name,), task.scope.headers + (header,), definition
        )
        children: list[Node] = []
        for node in unit.nodes:
            children.extend(node.children if node.id == definition.node.id else [node])
        mode = "class" if definition.is_class_like else "body"
        return [_Task(children, inner, mode, kind, symbol, task.depth + 1, context)]

    def _context(self, headers: tuple[str, ...]) -> str:
        if headers not in self.contexts:
            self.contexts[headers] = self.src.context(list(headers))
        return self.contexts[headers]

    def _units(self, nodes: list[Node]) -> list[_Unit]:
        """Sibling nodes grouped into row-disjoint units, expanding wrappers of definitions."""
        units: list[_Unit] = []
        stack = list(reversed(nodes))
        while stack:
            node = stack.pop()
            self.visits += 1
            if self.visits > MAX_VISITS:
                raise SyntaxTooComplex(f"more than {MAX_VISITS} nodes visited")
            if node.start_byte >= node.end_byte:
                continue
            start, end = node_rows(node, self.src.lines)
            definition = self.definitions.get(node)
            prev = units[-1] if units else None
            overlaps = prev is not None and start <= prev.end
            if definition is None and node.child_count and (
                self.definitions.holds_other(node) or (overlaps and prev is not None and end > prev.end)
            ):
                # A container of definitions, or a block starting on a shared row
                # (`} else {`, `fn f() {`): its children are the real units.
                stack.extend(reversed(node.children))
                continue
            if prev is not None and (overlaps or not node.is_named):
                _absorb(prev, node, end, definition)
            elif prev is not None and prev.trivia_only and start == prev.end + 1 and (
                definition is not None or _is_trivia(node)
            ):
                _absorb(prev, node, end, definition)
            else:
                units.append(_Unit(start, end, [node], definition, _is_trivia(node)))
        return units


def _absorb(unit: _Unit, node: Node, end: int, definition: Definition | None) -> None:
    """Add a node to a unit: same row, a closing token, or a definition under its comment."""
    if unit.trivia_only and definition is not None:
        unit.definition = definition
    unit.trivia_only = unit.trivia_only and _is_trivia(node)
    unit.nodes.append(node)
    unit.end = max(unit.end, end)


def _kind(definition: Definition, scope: _Scope) -> str:
    """class for class-likes; method inside a class (or with a receiver); else function."""
    if definition.is_class_like:
        return "class"
    owner = scope.owner
    if definition.receiver or (owner is not None and owner.is_scope_class):
        return "method"
    if definition.category == "method" and owner is not None:
        return "method"
    return "function"


def _symbol(definition: Definition, scope: _Scope) -> str:
    receiver = (definition.receiver,) if definition.receiver else ()
    return ".".join(scope.names + receiver + (definition.name,))
