"""Which syntax nodes are definitions, read from the packaged tree-sitter queries."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from importlib import resources

from tree_sitter import Language, Node, Query, QueryCursor

# Definitions nested deeper than this are not looked for: real code nests a
# handful of levels, and the bound keeps pathological trees cheap.
MAX_DEFINITION_DEPTH = 64

_CATEGORIES = {
    "definition.class": "class",
    "definition.module": "module",
    "definition.function": "function",
    "definition.method": "method",
}
_GENERICS = re.compile(r"[<\[(].*$", re.S)


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition node: its category (class/module/function/method) and name."""

    node: Node
    category: str
    name: str
    receiver: str | None  # Go: the receiver type of a method
    header_row: int  # the row naming it, used as the context line of its members

    @property
    def is_scope_class(self) -> bool:
        """Whether functions directly inside it are methods."""
        return self.category == "class"

    @property
    def is_class_like(self) -> bool:
        """Whether it is split into a header plus members when too big."""
        return self.category in ("class", "module")


# Grammars whose definition nodes are named alike share one query file.
_QUERY_FILE = {"tsx": "typescript"}


def load_query(language: Language, name: str) -> Query:
    """The definitions query packaged for `name`."""
    file = _QUERY_FILE.get(name, name)
    text = resources.files("indexer.chunking").joinpath("queries", f"{file}.scm").read_text("utf-8")
    return Query(language, text)


def find_definitions(query: Query, root: Node) -> list[Definition]:
    """The definitions in a tree; wrappers (decorators, export) win over what they wrap."""
    cursor = QueryCursor(query)
    cursor.set_max_start_depth(MAX_DEFINITION_DEPTH)
    by_node: dict[int, Definition] = {}
    name_ids: dict[int, int] = {}  # def node id -> its name node id
    for _, captures in cursor.matches(root):
        found = _from_match(captures)
        if found is None:
            continue
        definition, name_id = found
        old = by_node.get(definition.node.id)
        if old is None or (old.receiver is None and definition.receiver is not None):
            by_node[definition.node.id] = definition
            name_ids[definition.node.id] = name_id
    outermost: dict[int, Definition] = {}
    for node_id, definition in by_node.items():
        key = name_ids[node_id]
        old = outermost.get(key)
        if old is None or _span(definition.node) > _span(old.node):
            outermost[key] = definition
    return sorted(outermost.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte))


def _from_match(captures: dict[str, list[Node]]) -> tuple[Definition, int] | None:
    """A definition from one query match, with the id of its name node."""
    for capture, category in _CATEGORIES.items():
        nodes = captures.get(capture)
        if nodes:
            break
    else:
        return None
    names = captures.get("name")
    if not names:
        return None
    name_node = names[0]
    name = clean_name(_text(name_node))
    if not name:
        return None
    receivers = captures.get("receiver")
    receiver = clean_name(_text(receivers[0])) if receivers else None
    definition = Definition(nodes[0], category, name, receiver or None, name_node.start_point.row)
    return definition, name_node.id


def clean_name(text: str) -> str:
    """A symbol part from source text: generics dropped, `::` and `\\` as dots, one line."""
    text = _GENERICS.sub("", " ".join(text.split()))
    text = text.replace("::", ".").replace("\\", ".").strip(". &*")
    return text[:100]


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _span(node: Node) -> int:
    return node.end_byte - node.start_byte


class DefinitionIndex:
    """Definitions of one tree, looked up by node and by containment."""

    def __init__(self, definitions: list[Definition]) -> None:
        self._by_id = {d.node.id: d for d in definitions}
        self._defs = definitions
        self._starts = [d.node.start_byte for d in definitions]

    def __len__(self) -> int:
        return len(self._defs)

    def get(self, node: Node) -> Definition | None:
        """The definition this node is, if any."""
        return self._by_id.get(node.id)

    def holds_other(self, node: Node) -> bool:
        """Whether a definition other than `node` lies within it."""
        i = bisect_left(self._starts, node.start_byte)
        while i < len(self._defs) and self._starts[i] < node.end_byte:
            inner = self._defs[i].node
            if inner.end_byte <= node.end_byte and inner.id != node.id:
                return True
            i += 1
        return False
