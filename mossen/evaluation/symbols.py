"""Definitions of a source file with qualified names and 1-based line ranges, for gold labels.

Names follow the chunker's scheme (`indexer.chunking`: scope names, then a Go
receiver, then the name, e.g. `Pool.close`, `Store.Get`, `Registry.fmt`), found
with the chunker's own tree-sitter definition queries. Unlike chunk symbols,
every definition gets its full name and exact range whatever the token budget
did to the chunks: a small method merged into its class chunk is still
`Class.method`, and two tiny functions packed into one chunk stay two symbols.
A gold symbol is found when a retrieved chunk overlaps its lines, so a finer
gold is never harder to hit than the chunk that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Parser, Query
from tree_sitter_language_pack import get_language, get_parser

from indexer.chunking.definitions import Definition, find_definitions, load_query
from indexer.chunking.syntax import node_rows
from indexer.languages import SYNTAX_LANGUAGES, language_for_path

# Path parts and file names that mark tests, docs and examples: never gold,
# never counted among a commit's source files.
_NON_SOURCE_DIRS = frozenset({
    "test", "tests", "testing", "__tests__", "spec", "specs", "testdata", "fixtures",
    "doc", "docs", "documentation", "example", "examples", "sample", "samples", "demo", "demos",
})
_TEST_SUFFIXES = ("_test.go", "_test.py", "_tests.py", ".test.js", ".test.ts", ".test.tsx",
                  ".spec.js", ".spec.ts", ".spec.tsx", "_spec.rb", "_test.rs")


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition: qualified name, kind (class/function/method) and 1-based inclusive lines."""

    name: str
    kind: str
    start_line: int
    end_line: int


def code_language(path: str) -> str | None:
    """The language of a source-code path mossen chunks by syntax, else None."""
    language = language_for_path(path)
    return language if language in SYNTAX_LANGUAGES else None


def is_source_path(path: str) -> bool:
    """Whether a repo-relative path is source code that is not a test, doc or example."""
    if code_language(path) is None:
        return False
    parts = path.lower().split("/")
    name = parts[-1]
    if any(part in _NON_SOURCE_DIRS for part in parts[:-1]):
        return False
    if name.startswith("test_") or name == "conftest.py" or name.endswith(_TEST_SUFFIXES):
        return False
    return True


class SymbolFinder:
    """Parsers and definition queries per language, created on first use."""

    def __init__(self) -> None:
        self._grammars: dict[str, tuple[Parser, Query]] = {}

    def symbols(self, path: str, text: str) -> list[Symbol]:
        """Every definition of a file, in source order; [] for a non-code path."""
        language = code_language(path)
        if language is None or not text.strip():
            return []
        parser, query = self._grammar(language)
        root = parser.parse(text.encode("utf-8", "replace")).root_node
        lines = text.split("\n")
        return _qualify(find_definitions(query, root), lines)

    def _grammar(self, language: str) -> tuple[Parser, Query]:
        if language not in self._grammars:
            query = load_query(get_language(language), language)  # type: ignore[arg-type]
            self._grammars[language] = (get_parser(language), query)  # type: ignore[arg-type]
        return self._grammars[language]


def _qualify(definitions: list[Definition], lines: list[str]) -> list[Symbol]:
    """Name each definition by the definitions enclosing it (sorted outer before inner)."""
    out: list[Symbol] = []
    stack: list[Definition] = []
    for definition in definitions:
        node = definition.node
        while stack and stack[-1].node.end_byte < node.end_byte:
            stack.pop()
        owner = stack[-1] if stack else None
        receiver = (definition.receiver,) if definition.receiver else ()
        name = ".".join([d.name for d in stack] + list(receiver) + [definition.name])
        start, end = node_rows(node, lines)
        out.append(Symbol(name, _kind(definition, owner), start + 1, end + 1))
        stack.append(definition)
    return out


def _kind(definition: Definition, owner: Definition | None) -> str:
    """As the chunker says: class-likes; methods in a class or with a receiver; else functions."""
    if definition.is_class_like:
        return "class"
    if definition.receiver or (owner is not None and owner.is_scope_class):
        return "method"
    if definition.category == "method" and owner is not None:
        return "method"
    return "function"


def innermost_callable(symbols: list[Symbol], line: int) -> Symbol | None:
    """The innermost function or method holding a 1-based line, if any."""
    best: Symbol | None = None
    for symbol in symbols:
        if symbol.kind != "class" and symbol.start_line <= line <= symbol.end_line:
            if best is None or symbol.end_line - symbol.start_line <= best.end_line - best.start_line:
                best = symbol
    return best
