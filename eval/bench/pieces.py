"""Cutting real Python into pieces at statement boundaries, and giving a piece's names a suffix.

The `ast` work behind `bench.synthetic`: no files, no I/O.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator

CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")  # PEP 263: only valid on line 1 or 2, so dropped from pieces


@dataclass(frozen=True, slots=True)
class Piece:
    """Consecutive statements of one source: top-level ones, or members of one class under its header."""

    text: str
    where: str  # e.g. "lines 120-219", or "class header 40-41 + lines 300-390"


@dataclass(frozen=True, slots=True)
class _Span:
    """Lines [start, end) of the source (0-based) holding one statement, with the comments before it."""

    start: int
    end: int
    node: ast.stmt


def split_pieces(text: str, target: int, first_share: float = 1.0) -> list[Piece]:
    """Cut Python source into pieces of about `target` lines at top-level statement boundaries.

    A class longer than the target is cut between its members, each part under
    the class's header; any other statement longer than the target is a piece of
    its own. `first_share` shortens the first piece (a later round cuts elsewhere).
    Raises SyntaxError (or ValueError) for text that does not parse.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []
    open_start = open_end = 0
    for span in _spans(tree.body, 0, len(lines)):
        limit = max(1, int(target * (first_share if not pieces else 1.0)))
        size, more = open_end - open_start, span.end - span.start
        long_class = more > limit and isinstance(span.node, ast.ClassDef) and len(span.node.body) > 1
        if size and (long_class or _overshoots(size, more, limit)):
            pieces += _piece(lines, [(open_start, open_end)])
            open_start = open_end
        if long_class:
            pieces += _class_pieces(lines, span, limit)
            open_start = span.end
        open_end = span.end
    return pieces + list(_piece(lines, [(open_start, open_end)]))


def _overshoots(size: int, more: int, limit: int) -> bool:
    """Whether adding `more` lines to a piece of `size` lands further from `limit` than stopping now.

    Cutting at the nearer boundary (not at the last one under the limit) makes
    pieces average `limit` lines, so the generator's line count lands on target.
    """
    return size + more - limit > limit - size


def _spans(body: list[ast.stmt], start: int, end: int) -> list[_Span]:
    """Statements cut only where a new line begins (`a = 1; b = 2` stays whole); the last runs to `end`."""
    spans: list[_Span] = []
    for index, node in enumerate(body):
        following = body[index + 1] if index + 1 < len(body) else None
        stop = node.end_lineno or node.lineno
        if following is not None and _first_line(following) <= stop:
            continue
        spans.append(_Span(start, end if following is None else stop, node))
        start = stop
    return spans


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _class_pieces(lines: list[str], span: _Span, limit: int) -> Iterator[Piece]:
    """A long class in parts: its header (decorators, `class X(...):`) above each group of members."""
    node = span.node
    assert isinstance(node, ast.ClassDef)
    header_end = _first_line(node.body[0]) - 1
    header = (span.start, header_end)
    room = max(1, limit - (header_end - span.start))
    group: list[tuple[int, int]] = []
    for member in _spans(node.body, header_end, span.end):
        if group and _overshoots(group[-1][1] - group[0][0], member.end - member.start, room):
            yield from _piece(lines, [header, (group[0][0], group[-1][1])])
            group = []
        group.append((member.start, member.end))
    if group:
        yield from _piece(lines, [header, (group[0][0], group[-1][1])])


def _piece(lines: list[str], ranges: list[tuple[int, int]]) -> Iterator[Piece]:
    """The text of these line ranges (leading blank lines and coding cookies dropped), if any is left."""
    start, end = ranges[0]
    while start < end and (not lines[start].strip() or CODING.match(lines[start])):
        start += 1
    ranges = [(start, end), *ranges[1:]]
    text = "".join(line for a, b in ranges for line in lines[a:b])
    if not text.strip():
        return
    where = " + ".join(f"lines {a + 1}-{b}" for a, b in ranges if b > a)
    yield Piece(text if text.endswith("\n") else text + "\n", where)


def module_bindings(tree: ast.Module) -> set[str]:
    """Names bound at module level: defs, classes, assignment and loop targets (inside if/try/with/for too)."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        for attribute in ("body", "orelse", "finalbody"):
            pending.extend(getattr(node, attribute, None) or [])
        pending.extend(stmt for handler in getattr(node, "handlers", None) or [] for stmt in handler.body)
        pending.extend(stmt for case in getattr(node, "cases", None) or [] for stmt in case.body)
    return names


def rename(text: str, suffix: str) -> tuple[str, int] | None:
    """`text` with every module-level name suffixed wherever it is used as a name; with how many names.

    Renamed: definitions, loads and stores of the name, parameters spelled the
    same, `global`/`nonlocal` entries. Left alone: attributes, keyword
    arguments, imports, strings. None when the text does not parse, or when the
    renamed text does not parse to exactly the renamed tree (a position `ast`
    reports wrongly, e.g. in some f-strings).
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    names = {name: f"{name}{suffix}" for name in module_bindings(tree)}
    if not names:
        return text, 0
    lines = text.splitlines(keepends=True)
    try:
        renamed = _apply(lines, _edits(tree, lines, names))
        _Renamer(names).visit(tree)
        if _shape(ast.parse(renamed)) != _shape(tree):
            return None
    except (SyntaxError, ValueError):
        return None
    return renamed, len(names)


Edit = tuple[int, int, int, str]  # line (0-based), byte start, byte end, new text


def _edits(tree: ast.Module, lines: list[str], names: dict[str, str]) -> set[Edit]:
    """Where each name occurs in the text (`ast` columns are UTF-8 byte offsets)."""
    edits: set[Edit] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            edits.add((node.lineno - 1, node.col_offset, node.end_col_offset or 0, names[node.id]))
        elif isinstance(node, ast.arg) and node.arg in names:
            edits.add((node.lineno - 1, node.col_offset, node.col_offset + len(node.arg.encode()), names[node.arg]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
            line = lines[node.lineno - 1].encode()
            keyword = re.compile(rb"(?:async\s+)?(?:def|class)\s+(" + re.escape(node.name.encode()) + rb")\b")
            found = keyword.match(line, node.col_offset)
            if found is None:
                raise ValueError(f"the name of {node.name} is not on its definition's first line")
            edits.add((node.lineno - 1, found.start(1), found.end(1), names[node.name]))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            line = lines[node.lineno - 1].encode()
            stop = node.end_col_offset if node.end_lineno == node.lineno else len(line)
            for word in re.finditer(rb"\w+", line[node.col_offset:stop]):
                if (name := word.group().decode()) in names:
                    edits.add((node.lineno - 1, node.col_offset + word.start(), node.col_offset + word.end(),
                               names[name]))
    return edits


def _apply(lines: list[str], edits: set[Edit]) -> str:
    """The text with the edits made, right to left within each line."""
    by_line: dict[int, list[tuple[int, int, str]]] = {}
    for line, start, end, new in edits:
        by_line.setdefault(line, []).append((start, end, new))
    out = list(lines)
    for line, changes in by_line.items():
        data = out[line].encode()
        for start, end, new in sorted(changes, reverse=True):
            data = data[:start] + new.encode() + data[end:]
        out[line] = data.decode()
    return "".join(out)


class _Renamer(ast.NodeTransformer):
    """The renaming `_edits` makes in the text, made on the tree: what the new text must parse to."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.names.get(node.arg, node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Global(self, node: ast.Global) -> ast.Global:
        node.names = [self.names.get(n, n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global  # type: ignore[assignment]


def _shape(tree: ast.AST) -> list[tuple[object, ...]]:
    """Every node's type, names and constant value in walk order: cheaper than `ast.dump`, as telling here."""
    return [(type(n), getattr(n, "id", None), getattr(n, "name", None), getattr(n, "arg", None),
             getattr(n, "attr", None), getattr(n, "names", None) if isinstance(n, (ast.Global, ast.Nonlocal)) else None,
             repr(n.value) if isinstance(n, ast.Constant) else None)
            for n in ast.walk(tree)]
