"""Incremental indexing with exact expectations on what is re-read and re-embedded.

Real git, real tree-sitter, real Chroma in tmp_path, real embeddings.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from indexer import IndexSettings, SearchOptions, index_repo, index_status, search
from indexer.plan import RACY_NS
from indexer.verify import verify_index
from tests.conftest import git, make_repo

POOL = '''"""Connection pooling."""

import time


class Pool:
    """Keeps connections open for reuse."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.connections = []

    def close_idle(self) -> int:
        """Close connections idle for longer than the timeout."""
        now = time.monotonic()
        closed = 0
        for conn in list(self.connections):
            if now - conn.last_used > self.timeout:
                conn.close()
                self.connections.remove(conn)
                closed += 1
        return closed
'''

RETRY = '''"""Retry policy."""


def backoff_delay(attempt: int, base: float = 0.5) -> float:
    """Exponential backoff: base * 2 ** attempt, capped at thirty seconds."""
    return min(base * 2 ** attempt, 30.0)


def should_retry(status: int) -> bool:
    """Retry on throttling and server errors."""
    return status == 429 or status >= 500
'''

PARSER = '''"""Parsing of configuration files."""


def parse_ini_section(line: str) -> str | None:
    """Return the section name of a `[section]` header line."""
    line = line.strip()
    if line.startswith("[") and line.endswith("]"):
        return line[1:-1]
    return None
'''


def _hits(repo: Path, settings: IndexSettings, query: str, k: int = 10) -> list:
    return search(repo, query, settings, SearchOptions(top_k=k))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"pool.py": POOL, "retry.py": RETRY, "parser.py": PARSER})


def test_full_then_noop(repo: Path, settings: IndexSettings) -> None:
    first = index_repo(repo, settings)
    assert first.files_seen == 3 and first.files_changed == 3
    assert first.chunks_total > 3 and first.embedded == first.chunks_total == first.chunks_added
    assert verify_index(repo, settings) == []
    again = index_repo(repo, settings)
    assert (again.files_changed, again.files_deleted, again.embedded, again.chunks_added) == (0, 0, 0, 0)
    assert again.files_unchanged == 3 and again.chunks_total == first.chunks_total


def test_edit_reembeds_only_the_changed_chunk(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    text = (repo / "retry.py").read_text().replace("return status == 429 or status >= 500",
                                                   "return status in (408, 429) or status >= 500")
    (repo / "retry.py").write_text(text)
    report = index_repo(repo, settings)
    assert report.files_changed == 1 and report.embedded == 1
    assert report.chunks_added == 1 and report.chunks_removed == 1
    top = _hits(repo, settings, "retry on request timeout 408")[0]
    assert top.path == "retry.py" and "408" in top.text
    assert verify_index(repo, settings) == []


def test_edit_that_shifts_lines_reuses_cached_vectors(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "pool.py").write_text(POOL.replace('"""Connection pooling."""', '"""Connection pooling.\n\nThread-safe."""'))
    report = index_repo(repo, settings)
    # Only the module docstring block changed text; the shifted class keeps its vectors.
    assert report.files_changed == 1 and report.embedded == 1
    hit = next(h for h in _hits(repo, settings, "close idle connections") if h.symbol == "Pool")
    assert (repo / "pool.py").read_text().splitlines()[hit.start_line - 1].startswith("class Pool")


def test_delete_leaves_no_stale_hits(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    git(repo, "rm", "-q", "parser.py")
    report = index_repo(repo, settings)
    assert report.files_deleted == 1 and report.embedded == 0 and report.chunks_removed >= 1
    assert all(h.path != "parser.py" for h in _hits(repo, settings, "parse ini section header", k=50))
    assert verify_index(repo, settings) == []


def test_rename_costs_no_embedding(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    git(repo, "mv", "retry.py", "policy.py")
    report = index_repo(repo, settings)
    assert report.files_deleted == 1 and report.files_changed == 1 and report.embedded == 0
    paths = {h.path for h in _hits(repo, settings, "exponential backoff delay", k=50)}
    assert "policy.py" in paths and "retry.py" not in paths
    assert verify_index(repo, settings) == []


def test_revert_and_branch_switch_cost_nothing(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "parser.py").write_text(PARSER.replace("line.strip()", "line.strip().lower()"))
    assert index_repo(repo, settings).embedded == 1
    git(repo, "checkout", "-q", "--", "parser.py")  # revert
    reverted = index_repo(repo, settings)
    assert reverted.files_changed == 1 and reverted.embedded == 0


def test_second_checkout_shares_the_embedding_cache(repo: Path, settings: IndexSettings, tmp_path: Path) -> None:
    index_repo(repo, settings)
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone)
    report = index_repo(clone, settings)
    assert report.files_changed == 3 and report.embedded == 0 and report.embed_cache_hits == report.chunks_total


def test_touch_without_change_rereads_but_does_not_rechunk(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "pool.py").write_text(POOL)  # same bytes, new mtime
    report = index_repo(repo, settings)
    assert report.files_changed == 0 and report.embedded == 0 and report.chunks_added == 0


def test_file_indexed_in_its_modification_tick_is_rehashed_but_not_called_stale(
        repo: Path, settings: IndexSettings) -> None:
    soon = time.time_ns() + RACY_NS // 2  # indexed within RACY_NS of its mtime: it may change unseen
    os.utime(repo / "pool.py", ns=(soon, soon))
    index_repo(repo, settings)
    assert index_status(repo, settings).stale_files == 0  # same stat as the manifest: nothing says it changed
    (repo / "pool.py").write_text(POOL.replace("idle", "IDLE"))  # same size, and the same mtime restored:
    os.utime(repo / "pool.py", ns=(soon, soon))  # only a re-read can see this change
    assert index_repo(repo, settings).files_changed == 1
    (repo / "retry.py").write_text(RETRY + "\n# edited\n")
    assert index_status(repo, settings).stale_files == 1


def test_file_becoming_unreadable_as_text_is_dropped(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "parser.py").write_bytes(b"\x00\x01binary now\x00" * 100)
    report = index_repo(repo, settings)
    assert any(s.path == "parser.py" for s in report.skipped)
    assert all(h.path != "parser.py" for h in _hits(repo, settings, "parse ini section", k=50))
    assert verify_index(repo, settings) == []
