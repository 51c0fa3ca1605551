"""The corpora: SQLAlchemy's source distribution from PyPI, and a copy of this repository.

Every run works on its own unpacked copy, so the one-file edits never touch
the cached download or the repository being benchmarked.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

SQLALCHEMY_VERSION = "2.0.36"  # pinned: the figures are comparable only on the same text
# The whole sdist is 816k indexable lines and ~96k chunks (half of them prebuilt
# HTML docs): ~1.5 h of embedding on 2 cores. The library and the Core test
# suites are ~325k lines and ~27k chunks, still a large real corpus.
SQLALCHEMY_KEEP = ("lib/", "test/base/", "test/engine/", "test/sql/")

SQLALCHEMY_QUERIES = (
    "how is a pooled connection recycled after a timeout",
    "create_engine parses the database URL",
    "unit of work flush ordering of dependent rows",
    "selectinload eager loading of a relationship",
    "compile a select statement to a SQL string",
    "postgresql INSERT RETURNING support",
    "hybrid_property with a custom expression",
    "declarative mapped_column type annotation",
    "sqlite foreign keys pragma on connect",
    "savepoint rollback in a nested transaction",
    "executemany insertmanyvalues batching",
    "Inspector reflects the columns of a table",
)

SELF_QUERIES = (
    "how does the index recover after a crash",
    "embedding cache lookup by text hash",
    "split camelCase identifiers into terms",
    "gitignore rules during file discovery",
    "reciprocal rank fusion of search signals",
    "second indexer waits for the lock",
    "configuration precedence of environment variables",
    "detect minified or generated files",
    "upsert vectors into chroma",
    "progress callback while indexing",
    "tree-sitter chunks of python functions",
    "why a file was skipped",
)


@dataclass(frozen=True, slots=True)
class Corpus:
    """A working copy the benchmark may index and edit, with realistic queries for it."""

    name: str  # sqlalchemy | self
    label: str
    path: Path
    queries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EditTarget:
    """Where the one-file-change edits go: after the first statement of one function."""

    path: str  # repo-relative
    lines: int
    function: str
    after_line: int  # 1-based; the edit line is inserted after it
    indent: str


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/mossen-bench`, or /tmp/mossen-bench without XDG_CACHE_HOME."""
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "mossen-bench" if base else Path("/tmp/mossen-bench")


def sqlalchemy_corpus(work: Path) -> Corpus:
    """Download the pinned sdist once (cached), unpack a fresh copy under `work`."""
    tarball = _sqlalchemy_sdist(cache_dir())
    top = f"sqlalchemy-{SQLALCHEMY_VERSION}/"
    with tarfile.open(tarball) as archive:
        kept = [m for m in archive.getmembers() if m.name.removeprefix(top).startswith(SQLALCHEMY_KEEP)]
        archive.extractall(work, members=kept, filter="data")
    scope = " + ".join(k.rstrip("/") for k in SQLALCHEMY_KEEP)
    return Corpus("sqlalchemy", f"sqlalchemy {SQLALCHEMY_VERSION} ({scope})", work / top, SQLALCHEMY_QUERIES)


def sqlalchemy_sdist() -> Path:
    """The pinned sdist, downloaded once into the cache folder (the scale benchmark reads it too)."""
    return _sqlalchemy_sdist(cache_dir())


def _sqlalchemy_sdist(cache: Path) -> Path:
    tarball = cache / f"sqlalchemy-{SQLALCHEMY_VERSION}.tar.gz"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"downloading sqlalchemy=={SQLALCHEMY_VERSION} (sdist) into {cache}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-binary", ":all:", "-d", str(cache), f"sqlalchemy=={SQLALCHEMY_VERSION}"],
            check=True,
        )
    return tarball


def self_corpus(snapshot: Path, work: Path, commit: str) -> Corpus:
    """A copy of the code snapshot, made a git work tree so discovery lists it as it does the real one."""
    dest = work / "mossen-self"
    shutil.copytree(snapshot, dest, symlinks=True)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return Corpus("self", f"mossen @ {commit}", dest, SELF_QUERIES)


def count_lines(repo: Path, paths: list[str]) -> int:
    """Lines of text in these files (a last line without a newline counts)."""
    total = 0
    for rel in paths:
        data = (repo / rel).read_bytes()
        total += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return total


def pick_edit_target(repo: Path, paths: list[str]) -> EditTarget:
    """A function in the median-sized Python file that has one (deterministic)."""
    python = sorted((p for p in paths if p.endswith(".py")), key=lambda p: ((repo / p).stat().st_size, p))
    middle = len(python) // 2
    # Walk outwards from the median file until one has a function to edit.
    for i in sorted(range(len(python)), key=lambda i: abs(i - middle)):
        rel = python[i]
        try:
            text = (repo / rel).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        functions = _functions(text)
        if functions:
            fn = functions[len(functions) // 2]
            first = fn.body[0]
            return EditTarget(rel, text.count("\n"), fn.name, first.end_lineno or first.lineno,
                              " " * first.col_offset)
    raise ValueError("no Python file with a function to edit")


def _functions(text: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return sorted(found, key=lambda n: n.lineno)


def apply_edit(repo: Path, target: EditTarget, original: str, number: int) -> None:
    """Write the original file with one new statement in the target function's body."""
    lines = original.splitlines(keepends=True)
    edit = f"{target.indent}_bench_edit = {number}  # benchmark edit {number}\n"
    lines.insert(target.after_line, edit)
    (repo / target.path).write_text("".join(lines), encoding="utf-8")
