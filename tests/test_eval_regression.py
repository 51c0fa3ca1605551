"""The CI check on retrieval quality: the shipped strategy must keep its file-level Recall@5.

The suite, its corpus and the recorded figure come from eval/baseline.json, written by
`.venv/bin/python eval/run_all.py --baseline-only --update-baseline`. The corpus (50 files of
markdown-it-py 4.3.0, MIT) and its generated docstring suites ship in tests/fixtures/eval_corpus/,
so the check needs no download. It indexes a docstring-stripped copy in a private index root.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer import IndexSettings
from indexer.retrieve import DEFAULT_STRATEGY
from mossen.evaluation.cases import read_cases
from mossen.evaluation.docstrings import strip_docstrings
from mossen.evaluation.runner import run_suite


@pytest.fixture(autouse=True)
def _models(seeded_index_root: Path) -> Path:
    """tmp_path/indexes, which these tests index into, starts with the session's model exports."""
    return seeded_index_root

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "eval" / "baseline.json"

pytestmark = pytest.mark.slow


def test_shipped_strategy_keeps_its_recall_at_5(tmp_path: Path) -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert baseline["strategy"] == DEFAULT_STRATEGY, "the baseline was recorded for another default strategy"
    cases = [c for f in baseline["suite_files"] for c in read_cases(ROOT / f)]
    assert len(cases) == baseline["cases"]
    corpus = tmp_path / "corpus"
    if baseline["strip_docstrings"]:
        strip_docstrings(ROOT / baseline["corpus"], corpus)
    else:
        corpus = ROOT / baseline["corpus"]
    settings = IndexSettings(index_root=tmp_path / "indexes")
    result = run_suite(corpus, settings, cases, [DEFAULT_STRATEGY], name="regression")
    assert not result.unreachable
    got = result.strategies[DEFAULT_STRATEGY].file[baseline["metric"]].mean
    floor = baseline["value"] - baseline["tolerance"]
    assert got >= floor, (f"{DEFAULT_STRATEGY} file-level {baseline['metric']} fell to {got:.3f}, more than "
                          f"{baseline['tolerance']} below the recorded {baseline['value']:.3f} (eval/baseline.json)")
