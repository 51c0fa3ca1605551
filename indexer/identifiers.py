"""Splitting code into lexical terms: identifiers whole and in parts."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
# camelCase / PascalCase / ACRONYMWord / digit boundaries
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Words so common in questions that they only add noise to lexical matching.
QUERY_STOPWORDS = frozenset(
    """a an and are as at be by can do does for from how i if in into is it its me
    my of on or our should so that the their then there these this to use used
    uses using was we what when where which who why will with you your""".split()
)


def split_identifier(word: str) -> list[str]:
    """`getUserName` -> [get, user, name]; `HTTPServer_v2` -> [http, server, v, 2]."""
    parts: list[str] = []
    for piece in word.split("_"):
        parts.extend(p.lower() for p in _PARTS.findall(piece))
    return parts


def code_terms(text: str) -> list[str]:
    """Every identifier lower-cased whole (underscores dropped) plus its parts.

    Keeping the whole identifier lets an exact name match outrank a match on
    its common parts; the parts let "user name" find `getUserName`.
    """
    terms: list[str] = []
    for word in _WORD.findall(text):
        terms.extend(_word_terms(word))
    return terms


@lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    """One identifier's terms (code repeats its names: a memo halves the lexical phase's cost)."""
    parts = split_identifier(word)
    whole = word.replace("_", "").lower()
    if whole and (len(parts) != 1 or parts[0] != whole):
        return (whole, *parts)
    return tuple(parts)


def query_terms(query: str) -> list[str]:
    """Distinct lexical terms of a search query, stop words removed, order kept."""
    seen: dict[str, None] = {}
    for term in code_terms(query):
        if term not in QUERY_STOPWORDS and (len(term) > 1 or term.isdigit()):
            seen.setdefault(term, None)
    return list(seen)


# A name the query points at: snake_case, dotted or slashed paths, camelCase. Not call() syntax: a
# function's name names no file often enough (it cost the rich masked suite, helped none).
_NAMED = re.compile(r"[\w.-]*(?:[a-z0-9]_[A-Za-z0-9]|[A-Za-z]\.[A-Za-z_]|[A-Za-z]/[A-Za-z_]|[a-z][A-Z])[\w./-]*")
# "scope: subject", "type(scope): subject", the way commit subjects name the module they touch.
_SCOPE = re.compile(r"^\s*(?:\w+\(([\w./-]+)\)|([A-Za-z_][\w./-]*(?: [A-Za-z_][\w-]*)?)):\s")
_EXTENSION = re.compile(r"\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|kt|c|h|cc|cpp|hpp|cs|rb|php|swift|scala|sh|md|rst|txt|"
                        r"toml|json|ya?ml|cfg|ini)$", re.IGNORECASE)


def named_terms(query: str) -> list[str]:
    """Terms of the code names a query points at, as a path would hold them.

    A name is a token written the way code is (`run_all`, `indexer.ignore`, `bench/report`,
    `parseArgs`) or the scope before a leading colon (`Chunker: ...`, `fix(cli): ...`).
    A trailing file extension is dropped: `run_all.py` names `run_all`.
    """
    scope = _SCOPE.match(query)
    tokens = [w for group in scope.groups() if group for w in group.split()] if scope else []
    found: dict[str, None] = {}
    for token in tokens + _NAMED.findall(query):
        for word in re.split(r"[./-]+", _EXTENSION.sub("", token.strip(".-/"))):
            whole = word.replace("_", "").lower()
            if _WORD.fullmatch(word) and len(whole) > 1 and whole not in QUERY_STOPWORDS:
                found.setdefault(whole, None)
    return list(found)


_QUOTED = re.compile(r"`+([^`]+)`+")


def quoted_terms(query: str) -> list[str]:
    """Terms of what a query quotes as code in backticks: "the length of `size`" -> [size]."""
    return query_terms(" ".join(_QUOTED.findall(query)))


_SIGNATURE = re.compile(r"\s*(?:<[^>()]*>)?\s*\(([^)]*)\)")  # after the name: generics, then (parameters)
_DEFAULT = re.compile(r"=[^,]*")  # `timeout=5`, `n = 0`
_ANNOTATION = re.compile(r":[^,]*")  # Python's and TypeScript's `url: str`
_RECEIVERS = frozenset({"self", "cls"})


def parameter_terms(symbol: str | None, source: str) -> list[str]:
    """Terms of a function's parameter names, read from its signature in `source` (a chunk's context
    and text): `def fetch(url, timeout=5)` -> [url, timeout]; `fetchAll(urlList)` -> [urllist, url, list].

    A question often names what a function takes ("the length of `size`", "retry after `delay`").
    Empty for a chunk without a symbol or whose signature is not found. Defaults, Python and
    TypeScript annotations and self/cls are left out; types written C- or Go-style stay in.
    """
    name = symbol.rsplit(".", 1)[-1] if symbol else ""
    at = source.find(name) if name else -1
    while at != -1:  # str.find and one compiled pattern: indexing calls this for every chunk
        found = _SIGNATURE.match(source, at + len(name))
        if found is not None:
            names = _ANNOTATION.sub("", _DEFAULT.sub("", found.group(1)))
            return [t for t in code_terms(names) if t not in _RECEIVERS]
        at = source.find(name, at + 1)
    return []
