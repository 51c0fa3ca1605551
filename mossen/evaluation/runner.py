"""Run a suite: index the corpus, search every case under every strategy, keep per-query figures.

The corpus searched may differ from the repository the cases came from: a
docstring suite is generated from a repository but searched in a copy with its
docstrings stripped (the caller strips; the runner only indexes `corpus_root`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from indexer import STRATEGIES, IndexSettings, ProgressEvent, Searcher, index_repo, strategy_options
from indexer.retrieve import DEFAULT_STRATEGY
from mossen.errors import UsageError
from mossen.evaluation.cases import Case
from mossen.evaluation.metrics import (
    Estimate, PairedComparison, QueryMetrics, compare, paired, query_metrics, summarize,
)

BASELINES = ("lexical", "dense")
HEADLINE_METRIC = "mrr"


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Progress of a suite run: the indexer's events while indexing, then one per search."""

    phase: str  # index | search
    done: float
    total: int | None
    detail: str = ""


RunProgress = Callable[[RunEvent], None]
Stripper = Callable[[Path, Path], None]  # (src, dest): copy a tree with docstrings blanked out


@dataclass(frozen=True, slots=True)
class StrategyResult:
    """One strategy over a whole suite: per-query figures and their summaries."""

    strategy: str
    queries: tuple[QueryMetrics, ...]
    file: dict[str, Estimate]
    symbol: dict[str, Estimate]


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """Every strategy over one suite, and the paired comparisons of the default against the others."""

    name: str
    corpus: str
    cases: int
    strategies: dict[str, StrategyResult]
    comparisons: tuple[PairedComparison, ...] = ()
    best_baseline: str | None = None  # the better of lexical/dense on file-level MRR
    unreachable: tuple[str, ...] = ()  # cases none of whose gold files is in the corpus
    headroom: PairedComparison | None = None  # a perfect ranking against best_baseline (see `headroom`)
    seconds: float = 0.0
    meta: dict[str, object] = field(default_factory=dict)


def check_strategies(names: Sequence[str]) -> list[str]:
    """The strategy names, validated against indexer.STRATEGIES (UsageError otherwise)."""
    wanted = [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in STRATEGIES]
    if unknown or not wanted:
        valid = ", ".join(STRATEGIES)
        raise UsageError(f"unknown strategy {', '.join(map(repr, unknown))}; choose from {valid}"
                         if unknown else f"no strategy given; choose from {valid}")
    return list(dict.fromkeys(wanted))


def _check_cases(cases: Sequence[Case]) -> None:
    if not cases:
        raise UsageError("the suite has no cases")
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise UsageError(f"case id {case.id!r} appears twice in the suite")
        seen.add(case.id)


def _index(corpus_root: Path, settings: IndexSettings, progress: RunProgress | None) -> None:
    def relay(event: ProgressEvent) -> None:
        if progress is not None:
            progress(RunEvent("index", event.done, event.total, event.phase))
    index_repo(corpus_root, settings, relay)


def _search_all(searcher: Searcher, cases: Sequence[Case], strategies: Sequence[str], top_k: int,
                progress: RunProgress | None, candidates: str | None) -> dict[str, list[QueryMetrics]]:
    per_strategy: dict[str, list[QueryMetrics]] = {s: [] for s in strategies}
    options = {s: strategy_options(s, top_k=top_k, glob=candidates) for s in strategies}
    total = len(cases) * len(strategies)
    for number, case in enumerate(cases):
        for offset, name in enumerate(strategies):  # strategies inner: one query embedding serves all
            hits = searcher.search(case.query, options[name])
            per_strategy[name].append(query_metrics(case.id, hits, case.gold_files, case.gold_symbols))
            if progress is not None:
                progress(RunEvent("search", number * len(strategies) + offset + 1, total, name))
    return per_strategy


def headline_comparisons(results: dict[str, StrategyResult]) -> tuple[tuple[PairedComparison, ...], str | None]:
    """The default strategy against each other strategy (best lexical/dense baseline first)."""
    if DEFAULT_STRATEGY not in results:
        return (), None
    baselines = [b for b in BASELINES if b in results]
    best = max(baselines, key=lambda b: results[b].file[HEADLINE_METRIC].mean, default=None)
    others = ([best] if best else []) + [s for s in results if s not in (DEFAULT_STRATEGY, best)]
    default = results[DEFAULT_STRATEGY].queries
    return tuple(compare(default, results[o].queries, (DEFAULT_STRATEGY, o), HEADLINE_METRIC)
                 for o in others), best


def headroom(results: dict[str, StrategyResult], best: str | None,
             unreachable: Sequence[str]) -> PairedComparison | None:
    """A perfect ranking (a gold file first for every case that has one in the corpus) against the
    best baseline on file-level MRR: the most any ranking could gain on this suite. When even that
    is not significant, the suite has too few queries to show any ranking better than the baseline."""
    if best is None or best not in results:
        return None
    missing = set(unreachable)
    baseline = results[best].queries
    perfect = [0.0 if q.case_id in missing else 1.0 for q in baseline]
    return paired(perfect, [q.file[HEADLINE_METRIC] for q in baseline], names=("a perfect ranking", best),
                  metric=HEADLINE_METRIC)


def unreachable_cases(corpus_root: Path, cases: Sequence[Case]) -> tuple[str, ...]:
    """Ids of cases none of whose gold files exists in the corpus (they can only miss)."""
    return tuple(c.id for c in cases if not any((corpus_root / g).is_file() for g in c.gold_files))


def run_suite(repo: Path, settings: IndexSettings, cases: Sequence[Case], strategies: Sequence[str],
              top_k: int = 100, progress: RunProgress | None = None, *, corpus_root: Path | None = None,
              name: str = "suite", candidates: str | None = None) -> SuiteResult:
    """Index `corpus_root` (default: `repo`), run every case under every strategy, summarise.

    `candidates` (a gitignore-style pattern, e.g. "*.py") limits what may be retrieved, for
    benchmarks that define their candidate set.
    """
    started = time.monotonic()
    names = check_strategies(strategies)
    _check_cases(cases)
    corpus = corpus_root if corpus_root is not None else repo
    _index(corpus, settings, progress)
    with Searcher(corpus, settings) as searcher:
        per_strategy = _search_all(searcher, cases, names, top_k, progress, candidates)
    results = {s: StrategyResult(s, tuple(q), summarize(q, "file"), summarize(q, "symbol"))
               for s, q in per_strategy.items()}
    comparisons, best = headline_comparisons(results)
    unreachable = unreachable_cases(corpus, cases)
    return SuiteResult(name, str(corpus), len(cases), results, comparisons, best, unreachable,
                       headroom(results, best, unreachable), time.monotonic() - started,
                       {"repo": str(repo), "top_k": top_k, "candidates": candidates})


def eval_cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/mossen-eval`: downloaded corpora, stripped copies, their indexes."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mossen-eval"


def stripped_corpus(src: Path, strip: Stripper, cache_root: Path) -> Path:
    """A fresh docstring-free copy of `src` at a stable place (so its index is reused), via `strip`."""
    resolved = src.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    dest = cache_root / "stripped" / f"{resolved.name or 'root'}-{digest}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    strip(resolved, dest)
    return dest
