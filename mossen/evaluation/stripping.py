"""Doc comments removed from source text with every other line left byte-identical in place.

- Python: each module, class and function docstring becomes `""` on its first
  line and blank lines after, so the body stays valid and line numbers hold.
- JavaScript/TypeScript: every `/** … */` comment; Go: every top-level comment
  (doc comments of declarations and the package); Rust: every `///`, `//!`,
  `/** */` and `/*! */` comment. Their characters are removed, newlines kept,
  and a line left holding only whitespace becomes empty.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

from tree_sitter import Node
from tree_sitter_language_pack import get_parser

from mossen.evaluation.doc_comments import python_tree
from mossen.evaluation.symbols import code_language

_LONE_CR = re.compile(r"\r(?!\n)")
_COMMENT_LANGUAGES = frozenset({"javascript", "typescript", "tsx", "go", "rust"})


def strip_docstrings(src: Path, dest: Path) -> None:
    """Copy the tree `src` to `dest` (no `.git`, symlinks kept as links) with doc comments blanked."""
    src, dest = Path(src), Path(dest)
    shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    for folder, _, names in os.walk(dest):
        for name in names:
            path = Path(folder, name)
            if path.is_symlink() or code_language(name) is None:
                continue
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # not UTF-8: no generator reads it either
            stripped = strip_text(name, text)
            if stripped != text:
                path.write_bytes(stripped.encode("utf-8"))


def strip_text(path: str, text: str) -> str:
    """The text of one file with its doc comments blanked (unchanged when it has none)."""
    language = code_language(path)
    if language == "python":
        return _strip_python(text)
    if language in _COMMENT_LANGUAGES:
        data = text.encode("utf-8")
        root = get_parser(language).parse(data).root_node  # type: ignore[arg-type]
        ranges = [(n.start_byte, n.end_byte) for n in _doc_comments(root, language)]
        return _remove(text, data, ranges, "")
    return text


def _strip_python(text: str) -> str:
    """Docstrings replaced by `""` (a valid statement) plus blank lines."""
    tree = python_tree(text)
    if tree is None or _LONE_CR.search(text):
        return text  # ast counts a lone CR as a line end: its positions would not match our lines
    data = text.encode("utf-8")
    starts = [0]
    for line in data.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    ranges = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                value = first.value
                ranges.append((starts[value.lineno - 1] + value.col_offset,
                               starts[(value.end_lineno or value.lineno) - 1] + (value.end_col_offset or 0)))
    stripped = _remove(text, data, ranges, '""')
    # Should a cut ever break the code, the file stays whole: docstring_cases then finds its
    # summaries in the stripped corpus and drops them.
    return stripped if python_tree(stripped) is not None else text


def _remove(text: str, data: bytes, ranges: list[tuple[int, int]], filler: str) -> str:
    """Cut byte ranges out (each replaced by `filler` and its newlines); emptied lines become empty."""
    if not ranges:
        return text
    pieces: list[bytes] = []
    at = 0
    for start, end in sorted(ranges):
        if start < at:
            continue  # nested in a range already cut
        pieces += [data[at:start], filler.encode(), b"\n" * data.count(b"\n", start, end)]
        at = end
    pieces.append(data[at:])
    new_lines = b"".join(pieces).decode("utf-8").split("\n")
    old_lines = text.split("\n")
    return "\n".join(
        "" if new != old and not new.strip() else new for new, old in zip(new_lines, old_lines, strict=True)
    )


def _doc_comments(root: Node, language: str) -> list[Node]:
    """The comment nodes that are doc comments in `language` (see the module docstring)."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if "comment" in node.type:
            if _is_doc(node, language):
                found.append(node)
            continue
        stack.extend(node.children)
    return found


def _is_doc(node: Node, language: str) -> bool:
    text = (node.text or b"")[:3]
    if language == "go":
        return node.parent is not None and node.parent.type == "source_file"
    if language == "rust":
        return (text in (b"///", b"//!", b"/**", b"/*!") and (node.text or b"")[:4] not in (b"////", b"/***")
                and node.text != b"/**/")
    return text == b"/**" and (node.text or b"")[:4] != b"/***" and node.text != b"/**/"
