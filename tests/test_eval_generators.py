"""Suite generators on fixtures built here: a real git history, and doc comments in four languages."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from mossen.evaluation.cases import GoldSymbol
from mossen.evaluation.docstrings import docstring_cases, mask_query, strip_docstrings
from mossen.evaluation.history import changed_lines, history_cases

# --- history -----------------------------------------------------------------

CORE_V1 = '''"""Core helpers."""


def alpha(x):
    return x + 1


def beta(items):
    total = 0
    for item in items:
        total += item
    return total


class Widget:
    def __init__(self, name):
        self.name = name

    def render(self):
        return "<" + self.name + ">"
'''

_ENV = {
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    """A throw-away git repository with helpers to write files and commit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, author: str = "Dev Eloper") -> str:
        env = {**os.environ, **_ENV, "GIT_AUTHOR_NAME": author, "GIT_COMMITTER_NAME": author,
               "GIT_AUTHOR_EMAIL": "dev@example.org", "GIT_COMMITTER_EMAIL": "dev@example.org"}
        done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=self.root, env=env,
                              check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def write(self, path: str, text: str) -> None:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    def edit(self, path: str, old: str, new: str) -> None:
        text = (self.root / path).read_text(encoding="utf-8")
        assert old in text
        self.write(path, text.replace(old, new, 1))

    def commit(self, subject: str, author: str = "Dev Eloper") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", subject, author=author)
        return self.git("rev-parse", "HEAD")


def _build_history(repo: Repo) -> dict[str, str]:
    """Two commits that qualify, then one of every kind that must be skipped."""
    shas: dict[str, str] = {}
    repo.write("pkg/core.py", CORE_V1)
    for name in "abcd":
        repo.write(f"pkg/{name}.py", f"def {name}():\n    return 0\n")
    repo.write("pkg/__init__.py", '__version__ = "1.0"\n')
    repo.write("pkg/old.py", "def old():\n    return 0\n")
    repo.write("README.md", "# pkg\n")
    repo.write("tests/test_core.py", "def test_beta():\n    assert True\n")
    repo.commit("Initial import of the package")  # root commit: no parent to compare with
    repo.edit("pkg/core.py", "    total = 0\n", "    if not items:\n        return 0\n    total = 0\n")
    shas["beta"] = repo.commit("Handle empty input in beta gracefully")
    repo.edit("pkg/core.py", 'return "<" + self.name + ">"', 'return "<" + escape(self.name) + ">"')
    repo.edit("tests/test_core.py", "assert True", "assert 1")
    shas["render"] = repo.commit("Widget render escapes markup characters")  # a test file does not count
    repo.edit("pkg/a.py", "return 0", "return 1")
    repo.commit('Revert "Make the a function return zero"')
    repo.write("pkg/__init__.py", '__version__ = "1.1"\n')
    repo.commit("Bump version to 1.1 for the release")
    repo.edit("pkg/core.py", "return x + 1", "return x + 2")
    repo.commit("Fix typo in the alpha function")
    for name in "abcd":
        repo.edit(f"pkg/{name}.py", "return", "return  ")
    repo.commit("Touch four modules at once for consistency")
    repo.write("README.md", "# pkg\n\nUsage.\n")
    repo.commit("Explain how the package is used")  # docs only: no source file
    repo.edit("pkg/b.py", "return", "return   ")
    repo.commit("Refresh the helper lookup table", author="dependabot[bot]")
    repo.edit("pkg/c.py", "return", "return   ")
    repo.commit("Tweak c logic")  # three words
    repo.git("rm", "-q", "pkg/old.py")
    repo.commit("Remove the old module entirely now")
    repo.git("checkout", "-q", "-b", "side")
    repo.edit("pkg/d.py", "return", "return   ")
    repo.commit("Fix typo in the d helper")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Combine the side work into mainline", "side")
    # Adds a source file (skipped) and shifts every line of core.py down by three.
    repo.write("pkg/new.py", "def new():\n    return 0\n")
    repo.edit("pkg/core.py", '"""Core helpers."""\n', '"""Core helpers."""\n\nimport html\nescape = html.escape\n')
    repo.commit("Add a brand new helper module")
    return shas


def test_history_suite_keeps_real_descriptions_with_todays_symbols(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj")
    shas = _build_history(repo)
    cases = history_cases(repo.root)
    assert [(c.query, c.meta["commit"]) for c in cases] == [
        ("Widget render escapes markup characters", shas["render"]),
        ("Handle empty input in beta gracefully", shas["beta"]),
    ]
    assert [c.gold_files for c in cases] == [("pkg/core.py",), ("pkg/core.py",)]
    head = (repo.root / "pkg/core.py").read_text().splitlines()
    assert head[24 - 1].strip() == "def render(self):" and head[11 - 1] == "def beta(items):"
    assert cases[0].gold_symbols == (GoldSymbol("pkg/core.py", "Widget.render", 24, 25),)
    assert cases[1].gold_symbols == (GoldSymbol("pkg/core.py", "beta", 11, 17),)
    assert all(c.source == "history" for c in cases)
    assert [c.id for c in history_cases(repo.root, max_cases=1)] == [cases[0].id]


def test_changed_lines_reads_new_side_of_zero_context_hunks() -> None:
    diff = "@@ -3 +3 @@\n-a\n+b\n@@ -10,2 +9,0 @@\n-x\n-y\n@@ -20,0 +19,3 @@\n+p\n+q\n+r\n"
    assert changed_lines(diff) == [(3, 1), (9, 0), (19, 3)]


def test_history_symbol_dropped_when_gone_today(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj")
    repo.write("m.py", "def keep():\n    return 1\n\n\ndef gone():\n    return 1\n")
    repo.commit("Start the module with two functions")
    repo.edit("m.py", "return 1\n\n\ndef gone():\n    return 1\n", "return 2\n\n\ndef gone():\n    return 2\n")
    repo.commit("Return two from both functions now")
    repo.edit("m.py", "\n\ndef gone():\n    return 2\n", "")
    repo.commit("Drop the gone function from the module")
    cases = history_cases(repo.root)
    assert [c.query for c in cases] == ["Drop the gone function from the module", "Return two from both functions now"]
    assert cases[1].gold_symbols == (GoldSymbol("m.py", "keep", 1, 2),)


# --- docstrings -----------------------------------------------------------------

PY = '''"""Module docstring that states the purpose of this module."""
import re


def parse_header(line):
    """Return the parsed header of one request line.

    More detail that is not part of the query.
    """
    return line.split(":", 1)


class Registry:
    """A registry of named handlers for later lookup."""

    def add(self, name, handler):
        """Register a handler under the given name, e.g. a command."""
        self.items[name] = handler

    @property
    def size(self):
        """Constructor of the registry size helper."""
        return len(self.items)

    def only_docstring(self):
        """Compute nothing at all, but document it anyway."""


def one_liner(): """Count the words in a sentence quickly."""


def short():
    """Too short here."""
    # an ordinary comment stays
    return 1
'''

JS = '''/**
 * Creates an array of elements split into groups.
 *
 * @param {Array} array The array to process.
 */
function chunk(array) {
  /* a plain block comment stays */
  return [array];
}

class Cache {
  /** Returns the cached value stored under a key. */
  getValue(key) {
    return this.map[key];
  }
}
'''

GO = '''// Package store keeps values.
package store

// Get returns the value stored under a key.
// It never fails.
func (s *Store) Get(k string) string {
	// an inline comment stays
	return s.m[k]
}
'''

RS = '''//! Crate docs for the registry.

/// Parses the header line into a map of fields.
///
/// More text.
#[inline]
pub fn parse_header(line: &str) -> Map {
    // a plain comment stays
    Map::new(line)
}
'''

TEST_PY = '''def test_it():
    """Check that parsing works for every header."""
'''

DUPLICATE = '''def first():
    """Return the value for this particular key."""


def second():
    """Return the value for this particular key."""
'''


def _doc_tree(root: Path) -> Path:
    files = {"pkg/mod.py": PY, "web/chunk.js": JS, "store/store.go": GO, "src/lib.rs": RS,
             "tests/test_mod.py": TEST_PY, "pkg/dup.py": DUPLICATE, "README.md": "# Project\n"}
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


EXPECTED = [
    ("Return the parsed header of one request line", "pkg/mod.py", "parse_header", 5, 10),
    ("Register a handler under the given name, e.g. a command", "pkg/mod.py", "Registry.add", 16, 18),
    ("Compute nothing at all, but document it anyway", "pkg/mod.py", "Registry.only_docstring", 25, 26),
    ("Count the words in a sentence quickly", "pkg/mod.py", "one_liner", 29, 29),
    ("Parses the header line into a map of fields", "src/lib.rs", "parse_header", 7, 10),
    ("Get returns the value stored under a key", "store/store.go", "Store.Get", 6, 9),
    ("Creates an array of elements split into groups", "web/chunk.js", "chunk", 6, 9),
    ("Returns the cached value stored under a key", "web/chunk.js", "Cache.getValue", 13, 15),
]


def test_docstring_suite_queries_and_gold(tmp_path: Path) -> None:
    cases = docstring_cases(_doc_tree(tmp_path / "corpus"))
    got = [(c.query, c.gold_files[0], c.gold_symbols[0].symbol, c.gold_symbols[0].start_line,
            c.gold_symbols[0].end_line) for c in cases]
    assert got == EXPECTED
    assert {c.source for c in cases} == {"docstring"}
    assert [c.meta["language"] for c in cases][-4:] == ["rust", "go", "javascript", "javascript"]


def test_masked_suite_drops_the_function_name(tmp_path: Path) -> None:
    cases = docstring_cases(_doc_tree(tmp_path / "corpus"), masked=True)
    assert [c.query for c in cases] == [
        "Return the of one request line",
        "Register a handler under the given name, e.g. a command",
        "Compute nothing at all, but document it anyway",
        "Count the words in a sentence quickly",
        "the line into a map of fields",
        "returns the value stored under a key",
        "Creates an array of elements split into groups",
        "Returns the cached stored under a key",
    ]
    assert {c.source for c in cases} == {"docstring-masked"}


@pytest.mark.parametrize(("summary", "name", "masked"), [
    ("Return the parsed header of a request", "parse_header", "Return the of a request"),
    ("Parsing headers is done by parseHeader()", "parseHeader", "is done by"),
    ("SetErr sets the destination for errors", "SetErr", "the destination for errors"),
    ("Convert the item to a dict quickly", "as_dict", "Convert the item to a quickly"),
])
def test_mask_query(summary: str, name: str, masked: str) -> None:
    assert mask_query(summary, name) == masked


def test_docstring_cases_sample_deterministically(tmp_path: Path) -> None:
    root = _doc_tree(tmp_path / "corpus")
    sample = docstring_cases(root, max_cases=3)
    assert len(sample) == 3 and sample == docstring_cases(root, max_cases=3)
    assert [c.query for c in docstring_cases(root, masked=True, max_cases=3)] == [
        mask_query(c.query, c.gold_symbols[0].symbol.rsplit(".", 1)[-1]) for c in sample
    ]


def _doc_lines(path: str, text: str) -> set[int]:
    """1-based lines of the fixture's doc comments, found independently of the code under test."""
    if path.endswith(".py"):
        lines: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(getattr(body[0], "value", None), ast.Constant):
                lines.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
        return lines
    markers = ("/**", "*", "///", "//!") if not path.endswith(".go") else ("// Package", "// Get", "// It")
    return {n for n, line in enumerate(text.split("\n"), 1) if line.lstrip().startswith(markers)}


def test_stripping_is_leak_free_and_keeps_other_lines(tmp_path: Path) -> None:
    src = _doc_tree(tmp_path / "corpus")
    queries = [c.query for c in docstring_cases(src)]
    dest = tmp_path / "stripped"
    strip_docstrings(src, dest)
    corpus = ""
    for file in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = file.relative_to(src).as_posix()
        old, new = file.read_bytes(), (dest / rel).read_bytes()
        corpus += new.decode() + "\n"
        old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
        assert len(new_lines) == len(old_lines), rel
        doc = _doc_lines(rel, old.decode())
        for number, (before, after) in enumerate(zip(old_lines, new_lines), 1):
            if number not in doc:
                assert after == before, f"{rel}:{number}"
            else:
                assert after.strip() in (b"", b'""') or after.endswith(b'""'), f"{rel}:{number}: {after!r}"
        if rel.endswith(".py"):
            ast.parse(new)
    flat = " ".join(corpus.split())
    assert queries and not [q for q in queries if q in flat]
    assert "a plain block comment stays" in flat and "an inline comment stays" in flat
    assert "a plain comment stays" in flat and "an ordinary comment stays" in flat


def test_stripping_keeps_crlf_lines_and_leaves_non_utf8_files_whole(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "crlf.py").write_bytes(b'def f():\r\n    """Say hello to the caller."""\r\n    return 1\r\n')
    (src / "latin.py").write_bytes(b'def g():\n    """Caf\xe9 ol\xe9."""\n')
    strip_docstrings(src, tmp_path / "out")
    assert (tmp_path / "out/crlf.py").read_bytes() == b'def f():\r\n    ""\r\n    return 1\r\n'
    assert (tmp_path / "out/latin.py").read_bytes() == (src / "latin.py").read_bytes()


def test_history_of_a_subfolder_is_relative_to_it(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj")
    repo.write("lib/m.py", "def keep():\n    return 1\n")
    repo.write("other/o.py", "def other():\n    return 1\n")
    repo.commit("Start both packages with one function")
    repo.edit("lib/m.py", "return 1", "return 2")
    repo.commit("Return two from the kept function")
    repo.edit("other/o.py", "return 1", "return 2")
    repo.commit("Return two from the other function")
    cases = history_cases(repo.root / "lib")
    assert [(c.query, c.gold_files, c.gold_symbols) for c in cases] == [
        ("Return two from the kept function", ("m.py",), (GoldSymbol("m.py", "keep", 1, 2),)),
    ]
