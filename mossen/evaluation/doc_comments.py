"""Doc comments of functions and methods, and the one-sentence summaries used as queries.

- Python: the docstring (`ast`), symbols named by nesting (`Class.method`),
  ranges from the first decorator to the end of the body.
- JavaScript/TypeScript: the `/** … */` block ending on the line right above
  the definition (TypeScript decorators in between are allowed).
- Go: the run of `//` lines right above a `func` (`//go:` directives skipped).
- Rust: the run of `///` lines right above a `fn`, attributes in between allowed.

A summary is the first sentence of the first paragraph (JSDoc: before the first
`@tag`), whitespace collapsed, a final period dropped; `None` when under
`MIN_WORDS` words or boilerplate (`BOILERPLATE`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from mossen.evaluation.symbols import Symbol, SymbolFinder, code_language

MIN_WORDS = 4
BOILERPLATE = re.compile(
    r"""^(constructor|creates?\s+an?\s+instance|initiali[sz]e\s+self|todo|fixme|xxx|hack|see\s+(above|below)
      |deprecated|internal\b|private\b|for\s+internal\s+use|no-?op|overrides?\b|inherit|implements?\b
      |copied\s+from|same\s+as|alias\s+(for|of)|@|:|>>>|auto-?generated|generated\s+by|do\s+not\s+edit)""",
    re.I | re.X,
)
# Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc|vs|cf|approx|resp|incl|no|esp)\.$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True, slots=True)
class DocItem:
    """A function or method with its doc comment's summary."""

    symbol: Symbol
    summary: str


def summarize(doc: str) -> str | None:
    """The first sentence of a doc text, or None when too short or boilerplate."""
    paragraph: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip() or line.strip().startswith("@"):
            break
        paragraph.append(line.strip())
    text = " ".join(" ".join(paragraph).split())
    sentence = _first_sentence(text).rstrip(".").strip()
    if len(sentence.split()) < MIN_WORDS or BOILERPLATE.match(sentence):
        return None
    return sentence


def _first_sentence(text: str) -> str:
    """Text up to the first sentence end that is not an abbreviation."""
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.start()]
        if not _ABBREVIATIONS.search(head):
            return head
    return text


def doc_items(path: str, text: str, finder: SymbolFinder) -> list[DocItem]:
    """Documented functions and methods of one file with usable summaries, in source order."""
    language = code_language(path)
    if language == "python":
        raw = _python_docs(text)
    elif language in ("javascript", "typescript", "tsx", "go", "rust"):
        lines = text.split("\n")
        raw = [(s, _comment_above(language, lines, s.start_line)) for s in finder.symbols(path, text)
               if s.kind != "class"]
    else:
        return []
    items = []
    for symbol, doc in raw:
        summary = summarize(doc) if doc else None
        if summary is not None:
            items.append(DocItem(symbol, summary))
    return items


def python_tree(text: str) -> ast.Module | None:
    """The module's syntax tree, or None when it does not parse."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _python_docs(text: str) -> list[tuple[Symbol, str | None]]:
    """(symbol, docstring) for each function and method, named by the enclosing definitions."""
    tree = python_tree(text)
    if tree is None:
        return []
    out: list[tuple[Symbol, str | None]] = []
    stack: list[tuple[ast.AST, tuple[str, ...], bool]] = [(tree, (), False)]
    while stack:
        node, scope, in_class = stack.pop()
        for child in reversed(list(ast.iter_child_nodes(node))):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = (*scope, child.name)
                is_class = isinstance(child, ast.ClassDef)
                if not is_class:
                    start = min([d.lineno for d in child.decorator_list] + [child.lineno])
                    kind = "method" if in_class else "function"
                    symbol = Symbol(".".join(name), kind, start, child.end_lineno or child.lineno)
                    out.append((symbol, ast.get_docstring(child)))
                stack.append((child, name, is_class))
            else:
                stack.append((child, scope, in_class))
    return sorted(out, key=lambda item: (item[0].start_line, item[0].name))


def _comment_above(language: str, lines: list[str], start_line: int) -> str | None:
    """The doc comment ending right above 1-based `start_line`, as plain text."""
    row = start_line - 2  # 0-based row above the definition
    skip = _DECORATOR if language in ("typescript", "tsx") else _ATTRIBUTE if language == "rust" else None
    while skip is not None and row >= 0 and skip.match(lines[row]):
        row -= 1
    if row < 0:
        return None
    if language in ("javascript", "typescript", "tsx"):
        return _jsdoc_ending_at(lines, row)
    marker = "///" if language == "rust" else "//"
    body: list[str] = []
    while row >= 0:
        line = lines[row].strip()
        if not line.startswith(marker) or (language == "rust" and line.startswith("////")):
            break
        if not (language == "go" and re.match(r"//(go:|nolint|\+build|line )", line)):
            body.append(line[len(marker):].removeprefix(" "))
        row -= 1
    return "\n".join(reversed(body)) or None


_DECORATOR = re.compile(r"^\s*@\w")
_ATTRIBUTE = re.compile(r"^\s*#\[.*\]\s*$")


def _jsdoc_ending_at(lines: list[str], row: int) -> str | None:
    """The text of a `/** … */` block whose last line is `row`, leading stars removed."""
    if not lines[row].rstrip().endswith("*/"):
        return None
    first = row
    while first >= 0 and "/**" not in lines[first]:
        if first < row and "*/" in lines[first]:
            return None  # the end of another comment: this block is not JSDoc
        first -= 1
    if first < 0:
        return None
    text = "\n".join(lines[first : row + 1]).strip()
    if not text.startswith("/**") or text.startswith("/***"):
        return None
    text = text[3:-2]
    return "\n".join(re.sub(r"^\s*\*? ?", "", line) for line in text.split("\n"))
