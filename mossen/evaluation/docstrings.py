"""The docstring suite (the CodeSearchNet method): a function's doc summary as the query, the function as gold.

Files are the ones mossen would index (`indexer.discover`, `indexer.reading`),
tests, docs and examples left out (`symbols.is_source_path`). Each function or
method with a doc comment whose summary passes `doc_comments.summarize` gives
one case: query = the summary, gold = its file and its symbol (qualified name
and line range). A summary shared by two functions is ambiguous and dropped,
and so is one still found in the corpus once doc comments are stripped
(`stripping.strip_text`; compared case- and whitespace-insensitively), so the
indexed text never contains the question.

Masked variant (`masked=True`, source "docstring-masked"): every word of the
summary that contains the function's own name or one of its identifier parts
(split as `indexer.identifiers` splits it; one-letter parts ignored; simple
inflections -s/-es/-ed/-d/-ing/-er/-ers count, both ways) is removed. Words are
removed rather than replaced by a placeholder, which would itself be a
searchable word. Functions whose masked query keeps fewer than
`MIN_MASKED_WORDS` words are left out of both variants, so the plain and masked
suites of a corpus hold the same functions and can be compared pair by pair.

Over `max_cases`, a fixed-seed sample is kept, listed by path and line.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from indexer.discover import discover_files
from indexer.reading import SourceFile, read_source
from indexer.identifiers import split_identifier
from indexer.settings import IndexSettings
from mossen.evaluation.cases import Case, GoldSymbol
from mossen.evaluation.doc_comments import DocItem, doc_items
from mossen.evaluation.stripping import strip_docstrings, strip_text
from mossen.evaluation.symbols import SymbolFinder, is_source_path

__all__ = ["docstring_cases", "mask_query", "strip_docstrings"]

SEED = 20240601  # fixed: the same corpus always gives the same sample
MIN_MASKED_WORDS = 3
_INFLECTIONS = ("", "s", "es", "ed", "d", "ing", "er", "ers")
_WORD_PART = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Found:
    path: str
    language: str
    item: DocItem
    masked: str


def docstring_cases(repo: Path, *, masked: bool = False, max_cases: int = 300) -> list[Case]:
    """Docstring-suite cases of a source tree (rules: module docstring)."""
    repo = Path(repo)
    sources = _read_sources(repo)
    finder = SymbolFinder()
    found = [
        _Found(src.path, src.language, item, mask_query(item.summary, item.symbol.name.rsplit(".", 1)[-1]))
        for src in sources if is_source_path(src.path) and not src.note  # plain UTF-8: strippable
        for item in doc_items(src.path, src.text, finder)
    ]
    counts = Counter(_normal(f.item.summary) for f in found)
    # What the index of the stripped copy will hold: strip_docstrings leaves non-UTF-8 files as they are.
    stripped = "\n".join(_normal(src.text if src.note else strip_text(src.path, src.text)) for src in sources)
    usable = [
        f for f in found
        if counts[_normal(f.item.summary)] == 1 and len(f.masked.split()) >= MIN_MASKED_WORDS
        and _normal(f.item.summary) not in stripped
    ]
    if len(usable) > max_cases:
        usable = random.Random(SEED).sample(usable, max_cases)
        usable.sort(key=lambda f: (f.path, f.item.symbol.start_line, f.item.symbol.name))
    source = "docstring-masked" if masked else "docstring"
    prefix = repo.resolve().name
    return [_case(f"{prefix}-{source}-{n:04d}", f, source, masked) for n, f in enumerate(usable, 1)]


def _case(case_id: str, found: _Found, source: str, masked: bool) -> Case:
    symbol = found.item.symbol
    gold = GoldSymbol(found.path, symbol.name, symbol.start_line, symbol.end_line)
    meta: dict[str, object] = {"language": found.language}
    if masked:
        meta["summary"] = found.item.summary
    query = found.masked if masked else found.item.summary
    return Case(case_id, query, (found.path,), (gold,), source, meta)


def mask_query(summary: str, name: str) -> str:
    """The summary without the words that contain `name` or its parts (scheme: module docstring)."""
    parts = {p for p in split_identifier(name) if len(p) > 1}
    parts.add(name.replace("_", "").lower())
    kept = [word for word in summary.split() if not _mentions(word, parts)]
    return " ".join(kept)


def _mentions(word: str, parts: set[str]) -> bool:
    """Whether a word (an identifier itself, maybe) contains one of `parts`, inflections allowed."""
    pieces = {word.replace("_", "").lower()}
    for token in _WORD_PART.findall(word):
        pieces.add(token.lower())
        pieces.update(split_identifier(token))
    pieces = {piece for piece in pieces if len(piece) > 1}
    return any(_inflected(piece, part) or _inflected(part, piece) for piece in pieces for part in parts)


def _inflected(word: str, stem: str) -> bool:
    """Whether `word` is `stem` plus a simple suffix (a final e may drop: parse -> parsing)."""
    if not word or not stem:
        return False
    for base in {stem, stem[:-1] if stem.endswith("e") and len(stem) > 2 else stem}:
        if word.startswith(base) and word[len(base):] in _INFLECTIONS and (base == stem or word != base):
            return True
    return False


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _read_sources(repo: Path) -> list[SourceFile]:
    """The files mossen would index in `repo`, read as mossen reads them, sorted by path."""
    settings = IndexSettings()
    out = []
    for candidate in discover_files(repo, settings).files:
        source = read_source(repo, candidate, settings.max_file_bytes)
        if isinstance(source, SourceFile):
            out.append(source)
    return out

