"""Searchable at once: the lexical phase first, embeddings after, resumable, and never in the way of search.

Real git, tree-sitter, Chroma and embeddings in tmp_path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer import IndexSettings, SearchOptions, Searcher, index_repo, search
from indexer.dense import DENSE_LOCK
from indexer.lock import IndexLock
from indexer.store.backends import vector_backend
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout
from indexer.verify import verify_index
from tests.conftest import Mossen, make_repo


def module(n: int) -> str:
    return (f'"""Module {n}."""\n\n\ndef handler_{n}(request, retries={n}):\n'
            f'    """Handle request {n} with up to {n} retries."""\n    return request.send(retries={n})\n')


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"pkg/m{n:02d}.py": module(n) for n in range(30)}
    files["pool.py"] = ('class ConnectionPool:\n    """Keeps idle sockets for reuse."""\n\n'
                        '    def close_idle(self, max_idle: float) -> int:\n        return 0\n')
    return make_repo(tmp_path / "repo", files)


def coverage(repo: Path, settings: IndexSettings) -> tuple[int, int]:
    with Searcher(repo, settings) as searcher:
        return searcher.coverage()


def test_lexical_only_is_searchable_then_a_full_run_completes_it(repo: Path, settings: IndexSettings) -> None:
    first = index_repo(repo, settings, dense=False)
    assert first.embedded == 0 and first.pending == first.chunks_total > 0
    assert not IndexLayout.for_repo(repo.resolve(), settings).vectors.exists()  # the model and Chroma untouched
    hits = search(repo, "ConnectionPool close_idle", settings, SearchOptions(top_k=3))
    assert hits and hits[0].path == "pool.py" and "dense" not in hits[0].scores
    assert coverage(repo, settings) == (0, first.chunks_total)
    assert verify_index(repo, settings, require_dense=False) == []

    second = index_repo(repo, settings)
    assert second.files_changed == 0 and second.pending == 0 and second.embedded == first.chunks_total
    assert coverage(repo, settings) == (first.chunks_total, first.chunks_total)
    assert verify_index(repo, settings) == []
    assert "dense" in search(repo, "keeps idle sockets", settings, SearchOptions(top_k=3))[0].scores


def test_a_limited_dense_run_embeds_the_newest_chunks_first(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "fresh.py").write_text("def brand_new_feature():\n    return 'shiny'\n")
    (repo / "pkg/m03.py").write_text(module(3) + "\n\ndef extra():\n    return 3\n")
    catalog_path = IndexLayout.for_repo(repo.resolve(), settings).catalog
    index_repo(repo, settings, dense=False)
    with Catalog(catalog_path) as catalog:
        waiting = catalog.pending_ids(100)  # newest first
    assert len(waiting) >= 2
    report = index_repo(repo, settings, dense=1)
    assert report.embedded == 1 and report.pending == len(waiting) - 1
    with Catalog(catalog_path) as catalog:
        assert catalog.pending_ids(100) == waiting[1:]  # the newest went first
    assert index_repo(repo, settings).pending == 0 and verify_index(repo, settings) == []


def test_interrupted_embedding_resumes_without_redoing_what_was_stored(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings, dense=False)
    total = coverage(repo, settings)[1]
    part = index_repo(repo, settings, dense=10)  # as if a run had been killed after a few batches
    assert part.pending == total - 10
    rest = index_repo(repo, settings)
    assert rest.embedded == total - 10 and rest.pending == 0  # only the remaining chunks reach the model
    assert verify_index(repo, settings) == []


def test_a_busy_embedder_never_blocks_a_refresh(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    (repo / "hot.py").write_text("def hotfix_for_overflow():\n    return 'patched'\n")
    layout = IndexLayout.for_repo(repo.resolve(), settings)
    with IndexLock(layout.folder, 1.0, name=DENSE_LOCK):  # a background embedder holds the dense lock
        started = time.monotonic()
        report = index_repo(repo, settings, dense=64)
        assert time.monotonic() - started < 10
    assert report.files_changed == 1 and report.pending >= 1  # lexical done, embedding left to the holder
    assert search(repo, "hotfix_for_overflow", settings, SearchOptions(top_k=1))[0].path == "hot.py"
    assert verify_index(repo, settings, require_dense=False) == []


def test_a_lost_vector_folder_is_rebuilt_from_the_cache(repo: Path, settings: IndexSettings) -> None:
    full = index_repo(repo, settings)
    shutil.rmtree(IndexLayout.for_repo(repo.resolve(), settings).vectors)
    (repo / "pool.py").write_text((repo / "pool.py").read_text() + "\n# touched\n")
    repaired = index_repo(repo, settings)
    assert repaired.repaired >= full.chunks_total - 1 and repaired.embedded <= 2  # vectors came from the cache
    assert verify_index(repo, settings) == []


def test_a_store_missing_vectors_behind_the_catalogs_back_is_repaired(repo: Path, settings: IndexSettings) -> None:
    """The no-op check reads Chroma's count without opening it; a count that disagrees still triggers repair."""
    full = index_repo(repo, settings)
    layout = IndexLayout.for_repo(repo.resolve(), settings)
    backend = vector_backend(layout, settings)
    assert backend.quick_count() == full.chunks_total
    with Catalog(layout.catalog) as catalog:
        model, lost = catalog.get_meta("model"), sorted(catalog.all_chunk_ids())[:3]
    with backend.open(model, 384) as store:
        assert store.count() == full.chunks_total
        store.delete(lost)
    assert backend.quick_count() == full.chunks_total - 3
    repaired = index_repo(repo, settings)
    assert repaired.repaired == 3 and repaired.embedded == 0  # made pending again, refilled from the cache
    assert backend.quick_count() == full.chunks_total and verify_index(repo, settings) == []


def test_a_no_op_run_does_not_load_chroma_or_the_model(repo: Path, settings: IndexSettings) -> None:
    index_repo(repo, settings)
    probe = (f"import sys\nfrom pathlib import Path\nfrom indexer import IndexSettings, index_repo\n"
             f"r = index_repo(Path({str(repo)!r}), IndexSettings(index_root=Path({str(settings.index_root)!r})))\n"
             "print(r.files_changed, r.pending, r.repaired, *(m in sys.modules for m in "
             "('chromadb', 'onnxruntime', 'torch', 'numpy')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0", "0", "False", "False", "False", "False"]


@pytest.mark.slow
def test_cli_lexical_only_then_background_embedding(repo: Path, mossen: Mossen) -> None:
    done = mossen.run("index", str(repo), "--lexical-only")
    assert done.returncode == 0, done.stderr
    status = json.loads(mossen.run("status", str(repo), "--json").stdout)
    assert status["pending_chunks"] == status["chunks"] > 0
    searched = mossen.run("search", "close idle sockets", "--path", str(repo), "--json", "--no-refresh")
    assert searched.returncode == 0 and "embeddings cover 0 of" in searched.stderr
    assert json.loads(searched.stdout)[0]["path"] == "pool.py"

    background = mossen.run("index", str(repo), "--background")
    assert background.returncode == 0 and "in the background" in background.stderr
    deadline = time.monotonic() + 300
    while json.loads(mossen.run("status", str(repo), "--json").stdout)["pending_chunks"]:
        assert time.monotonic() < deadline, "the background embedding did not finish"
        time.sleep(1)
    searched = mossen.run("search", "close idle sockets", "--path", str(repo), "--json", "--no-refresh")
    assert "embeddings cover" not in searched.stderr
