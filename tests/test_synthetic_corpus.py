"""The scale benchmark's synthetic repository: real code, renamed per file, the same bytes every time.

Runs the generator on a small sample: a handful of inline modules for the
renaming rules, and the first files of the interpreter's own standard library
(the source of the real benchmark) for size, determinism and uniqueness; the
uniqueness that matters, of embedding-cache keys, is checked on the chunks
mossen's real indexer makes of a generated repository.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

# `bench` is the benchmark's package in eval/, not an installed one.
EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
sys.path.insert(0, str(EVAL_DIR))

from bench.pieces import rename, split_pieces  # noqa: E402
from bench.synthetic import Source, commit_repo, generate, stdlib_sources  # noqa: E402
from indexer import IndexSettings, index_repo  # noqa: E402
from indexer.pipeline import embedding_key  # noqa: E402
from indexer.store.catalog import Catalog  # noqa: E402
from indexer.store.layout import IndexLayout  # noqa: E402

HELPERS = '''\
"""Helpers."""

import os

LIMIT = 10
_cache = {}


def normalise(path):
    global _cache
    if path not in _cache:
        _cache[path] = os.path.normpath(path)[:LIMIT]
    return _cache[path]


class Loader:
    """Reads files."""

    def load(self, normalise=normalise):
        return normalise(self.path)

    def size(self):
        return len(self.load())


def load_all(paths):
    return [Loader().load() for p in paths if normalise(p)]
'''

# The same function and constant as HELPERS: copies must not come out as the same text.
COPY = '''\
LIMIT = 10


def normalise(path):
    return path.strip()
'''


def files_of(root: Path) -> dict[str, bytes]:
    """Every generated file (not .git) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def stdlib_sample(count: int = 12) -> list[Source]:
    """The first `count` standard-library modules, in sorted path order."""
    return [source for _, source in zip(range(count), stdlib_sources())]


def test_a_name_defined_and_used_in_a_piece_is_renamed_at_every_use() -> None:
    renamed, count = rename(HELPERS, "_s00042")
    tree = ast.parse(renamed)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert defined == {"normalise_s00042", "Loader_s00042", "load_all_s00042"}
    assert count == 5  # LIMIT, _cache, normalise, Loader, load_all
    # Calls, default values, `global`, and parameters spelled like a global follow the definition.
    assert "if normalise_s00042(p)]" in renamed
    assert "Loader_s00042().load()" in renamed
    assert "global _cache_s00042" in renamed
    assert "def load(self, normalise_s00042=normalise_s00042):" in renamed
    assert "os.path.normpath(path)[:LIMIT_s00042]" in renamed
    # Attributes, imports and names bound only inside functions keep their spelling.
    assert "self.path" in renamed and "import os\n" in renamed and "def size(self):" in renamed
    assert "normalise(" not in renamed.replace("normalise_s00042(", "")


def test_a_long_module_is_cut_at_statement_boundaries_and_long_classes_between_members() -> None:
    pieces = split_pieces(HELPERS, target=8)
    assert len(pieces) > 2
    for piece in pieces:
        ast.parse(piece.text)  # every piece is whole statements
    # The class is longer than 8 lines: each part carries the class header.
    class_parts = [p for p in pieces if "def load(" in p.text or "def size(" in p.text]
    assert len(class_parts) == 2
    assert all(p.text.lstrip().startswith("class Loader:") for p in class_parts)


def test_the_generator_gives_the_same_bytes_and_commit_in_another_process(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    stats = generate(stdlib_sample(), first, lines=1500, files=20)
    # Another interpreter, another hash seed (set order), the sources in reverse order.
    script = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
              "from bench.synthetic import generate, stdlib_sources;"
              "sources = [s for _, s in zip(range(12), stdlib_sources())];"
              "generate(sources[::-1], Path(sys.argv[2]), lines=1500, files=20)")
    subprocess.run([sys.executable, "-c", script, str(EVAL_DIR), str(second)], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert stats.files == 20
    assert files_of(first) == files_of(second)
    assert commit_repo(first) == commit_repo(second)


def test_every_generated_file_parses_and_no_definition_repeats_across_files(tmp_path: Path) -> None:
    sources = [Source("fixture/helpers.py", HELPERS), Source("fixture/copy.py", COPY), *stdlib_sample()]
    generate(sources, tmp_path, lines=3000, files=40)
    files = files_of(tmp_path)
    assert len(files) == 40
    where: dict[str, set[str]] = defaultdict(set)
    for path, data in files.items():
        tree = ast.parse(data)
        text = data.decode()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)):
                where[ast.get_source_segment(text, node) or ""].add(path)
    repeated = {segment[:60]: paths for segment, paths in where.items() if len(paths) > 1}
    assert not repeated
    assert any("def normalise_s" in data.decode() for data in files.values())


def test_sources_used_again_in_a_later_round_come_out_as_new_text(tmp_path: Path) -> None:
    # Two small sources cannot fill 12 files in one round: the generator goes round again.
    stats = generate([Source("fixture/helpers.py", HELPERS), Source("fixture/copy.py", COPY)], tmp_path,
                     lines=120, files=12)
    assert stats.rounds > 1 and stats.reused_files > 0
    texts = [data.split(b"\n", 1)[1] for data in files_of(tmp_path).values()]  # without the origin comment
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("text", ["def broken(:\n    pass\n", "x = 1\n\tif x:\n  y = 2\n"])
def test_sources_that_do_not_parse_are_skipped(tmp_path: Path, text: str) -> None:
    stats = generate([Source("fixture/bad.py", text), Source("fixture/helpers.py", HELPERS)], tmp_path,
                     lines=100, files=3)
    assert stats.sources_unparsable == 1
    assert stats.files == 3 and all(b"broken" not in data and b"y = 2" not in data
                                    for data in files_of(tmp_path).values())


def test_the_requested_lines_and_files_are_met_closely(tmp_path: Path) -> None:
    # About 100 lines a file, as in the full run (whose sources are far longer than its pieces).
    stats = generate(stdlib_sample(150), tmp_path, lines=10_000, files=100)
    files = files_of(tmp_path)
    on_disk = sum(data.count(b"\n") for data in files.values())
    assert stats.files == len(files) == 100
    assert stats.lines == on_disk
    assert 0.95 * 10_000 <= on_disk <= 1.05 * 10_000
    # √files folders of √files files each, so no folder holds the whole repository.
    assert len({path.split("/")[0] for path in files}) == 10


def test_copies_of_real_code_give_the_indexer_no_embedding_cache_hits(tmp_path: Path) -> None:
    # The same module three times (a vendored copy, say): the first copy is written, identical pieces
    # are skipped, and later rounds re-cut and rename it; no chunk of one file may share the cache key
    # (symbol + text) of a chunk in another, or the dense phase would embed less than the repository holds.
    repo, root = tmp_path / "repo", tmp_path / "indexes"
    sources = [Source(f"copy{i}/helpers.py", HELPERS) for i in range(3)] + stdlib_sample(6)
    stats = generate(sources, repo, lines=1200, files=16)
    commit_repo(repo)
    assert stats.pieces_duplicate > 0
    settings = IndexSettings(index_root=root)
    report = index_repo(repo, settings, dense=False)
    assert report.files_seen == 16 and report.chunks_total > 16
    with Catalog(IndexLayout.for_repo(repo.resolve(), settings).catalog) as catalog:
        chunks = [row.chunk for row in catalog.iter_chunk_rows()]
    files_of_key: dict[str, set[str]] = defaultdict(set)
    for chunk in chunks:
        if chunk.symbol:
            files_of_key[embedding_key(chunk)].add(chunk.path)
    assert len(files_of_key) > 16
    assert not {key: paths for key, paths in files_of_key.items() if len(paths) > 1}
