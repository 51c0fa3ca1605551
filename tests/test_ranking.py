"""Ranking: signals collected once and fused under any weighting, the signal of named code and that of
parameter names.

Real git, real tree-sitter, a real index in tmp_path, real embeddings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import IndexSettings, Searcher, SearchOptions, index_repo
from tests.conftest import make_repo

FILES = {
    "indexer/report.py": '"""Summaries of an indexing run."""\n\n\ndef summary(counts: dict) -> str:\n'
                         '    """One line per phase with its figures."""\n'
                         '    return ", ".join(f"{k}: {v}" for k, v in counts.items())\n',
    "indexer/run_all.py": '"""Run every suite."""\n\n\ndef main() -> int:\n    """Run the suites and write the '
                          'summary table."""\n    return 0\n',
    "indexer/table.py": '"""Tables of figures."""\n\n\ndef render(rows: list) -> str:\n'
                        '    """The summary table of every run, one row per suite, with its figures."""\n'
                        '    return "\\n".join(map(str, rows))\n',
}
ALL = {"dense": 1.0, "lexical": 1.0, "symbol": 1.0, "file_lexical": 1.0, "named_path": 1.0, "params": 1.0}


@pytest.fixture
def searcher(tmp_path: Path, settings: IndexSettings) -> Searcher:
    repo = make_repo(tmp_path / "repo", FILES)
    index_repo(repo, settings)
    with Searcher(repo, settings) as opened:
        yield opened


def test_fusing_collected_signals_is_the_search(searcher: Searcher) -> None:
    options = SearchOptions(top_k=5)
    query = "summary table of every run"
    searched = searcher.search(query, options)
    fused = searcher.fuse(searcher.signals(query, SearchOptions(top_k=5, weights=ALL)), options)
    assert [(h.path, h.start_line, round(h.score, 9)) for h in fused] == \
        [(h.path, h.start_line, round(h.score, 9)) for h in searched]


def test_a_signal_without_weight_is_left_out_of_the_fusion(searcher: Searcher) -> None:
    signals = searcher.signals("summary table of every run", SearchOptions(weights=ALL))
    assert {"dense", "lexical", "symbol"} <= signals.chunks.keys() and "file_lexical" in signals.files
    dense_only = searcher.fuse(signals, SearchOptions(weights={"dense": 1.0}))
    assert [h.path for h in dense_only] == [h.path for h in searcher.search("summary table of every run",
                                                                             SearchOptions(weights={"dense": 1.0}))]
    assert all(set(h.scores) <= {"dense"} for h in dense_only)


def test_a_module_the_query_names_ranks_its_file_first(searcher: Searcher) -> None:
    query = "run_all: the summary table of every run"
    signals = searcher.signals(query, SearchOptions(weights=ALL))
    assert [p for p, _ in signals.files["named_path"]] == ["indexer/run_all.py"]
    hits = searcher.fuse(signals, SearchOptions(weights={"dense": 1.0, "named_path": 2.0}))
    assert hits[0].path == "indexer/run_all.py"


def test_prose_names_nothing_so_the_signal_is_silent(searcher: Searcher) -> None:
    signals = searcher.signals("the summary table of every run", SearchOptions(weights=ALL))
    assert "named_path" not in signals.files


def test_a_parameter_the_query_mentions_finds_the_function_taking_it(searcher: Searcher) -> None:
    signals = searcher.signals("one line for each of the `counts`", SearchOptions(weights=ALL))
    [(chunk_id, _)] = signals.chunks["params"]  # summary(counts) alone takes counts
    assert searcher.catalog.chunk_rows([chunk_id])[chunk_id].chunk.symbol == "summary"
    hits = searcher.fuse(signals, SearchOptions(weights={"params": 1.0}))
    assert hits[0].symbol == "summary"
    # unquoted, `counts` is just a word of the question: the signal stays silent
    assert "params" not in searcher.signals("one line for each of the counts", SearchOptions(weights=ALL)).chunks


def test_a_parameter_renamed_away_is_no_longer_found(tmp_path: Path, settings: IndexSettings) -> None:
    repo = make_repo(tmp_path / "repo", {"net.py": "def fetch(url, timeout):\n    return url\n"})
    index_repo(repo, settings)
    (repo / "net.py").write_text("def fetch(url, deadline):\n    return url\n")
    index_repo(repo, settings)
    with Searcher(repo, settings) as searcher:
        assert searcher.signals("give up after `timeout`", SearchOptions(weights=ALL)).chunks["params"] == []
        [(chunk_id, _)] = searcher.signals("give up after `deadline`", SearchOptions(weights=ALL)).chunks["params"]
        assert searcher.catalog.chunk_rows([chunk_id])[chunk_id].chunk.symbol == "fetch"
