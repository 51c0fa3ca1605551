"""Retrieval metrics: per-query figures from a ranked list, bootstrap intervals, paired comparisons.

File level: files are ranked by their FIRST appearance in the retrieved chunk
list, and each gold file gets the rank of its file. Symbol level: a gold symbol
is found at the rank of the first retrieved chunk of the same path whose lines
overlap the symbol's lines; cases without gold symbols have no symbol figures.

Every figure is binary-relevance and lies in [0, 1]:

    hit@5    some gold item within the first 5
    r@k      share of gold items within the first k (k = 1, 5, 10)
    mrr      1 / rank of the first gold item (0 when none was retrieved)
    ndcg@10  DCG of the gold items within 10 over the DCG of a perfect list
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from mossen.evaluation.cases import GoldSymbol

METRICS: tuple[str, ...] = ("hit@5", "r@1", "r@5", "r@10", "mrr", "ndcg@10")
RESAMPLES = 2000
SEED = 0
LEVEL = 0.95

Ranks = tuple[int | None, ...]  # 1-based rank of each gold item, None when not retrieved


class Located(Protocol):
    """What the metrics need from a retrieved chunk (indexer.SearchHit has it)."""

    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class QueryMetrics:
    """One case under one strategy: gold ranks and the figures computed from them."""

    case_id: str
    file_ranks: Ranks
    file: dict[str, float]
    symbol_ranks: Ranks | None = None  # None: the case has no gold symbols
    symbol: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over queries with its bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the interval's width (the "±" figure)."""
        return (self.high - self.low) / 2


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Strategy a minus strategy b on the same queries, with the CI of the mean difference."""

    a: str
    b: str
    metric: str
    diff: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0."""
        return self.low > 0 or self.high < 0


def file_ranking(hits: Sequence[Located]) -> list[str]:
    """Distinct paths in the order of their first appearance."""
    return list(dict.fromkeys(h.path for h in hits))


def file_ranks(hits: Sequence[Located], gold_files: Sequence[str]) -> Ranks:
    """Rank of each (distinct) gold file in the file ranking."""
    position = {path: rank for rank, path in enumerate(file_ranking(hits), 1)}
    return tuple(position.get(g) for g in dict.fromkeys(gold_files))


def symbol_ranks(hits: Sequence[Located], gold_symbols: Sequence[GoldSymbol]) -> Ranks:
    """Rank of the first chunk of the same path overlapping each gold symbol's lines."""
    ranks: list[int | None] = []
    for gold in gold_symbols:
        ranks.append(next((rank for rank, h in enumerate(hits, 1) if h.path == gold.path
                           and h.start_line <= gold.end_line and gold.start_line <= h.end_line), None))
    return tuple(ranks)


def recall_at(ranks: Ranks, k: int) -> float:
    """Share of gold items ranked within the first k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def reciprocal_rank(ranks: Ranks) -> float:
    """1 / the best rank, 0 when no gold item was retrieved."""
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


def ndcg_at(ranks: Ranks, k: int) -> float:
    """Binary-relevance nDCG@k."""
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r is not None and r <= k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(ranks), k) + 1))
    return dcg / ideal if ideal else 0.0


def scores(ranks: Ranks) -> dict[str, float]:
    """Every figure of METRICS for one query's gold ranks."""
    return {
        "hit@5": 1.0 if any(r is not None and r <= 5 for r in ranks) else 0.0,
        "r@1": recall_at(ranks, 1), "r@5": recall_at(ranks, 5), "r@10": recall_at(ranks, 10),
        "mrr": reciprocal_rank(ranks), "ndcg@10": ndcg_at(ranks, 10),
    }


def query_metrics(case_id: str, hits: Sequence[Located], gold_files: Sequence[str],
                  gold_symbols: Sequence[GoldSymbol] = ()) -> QueryMetrics:
    """File-level (and, when the case has gold symbols, symbol-level) figures of one query."""
    franks = file_ranks(hits, gold_files)
    if not gold_symbols:
        return QueryMetrics(case_id, franks, scores(franks))
    sranks = symbol_ranks(hits, gold_symbols)
    return QueryMetrics(case_id, franks, scores(franks), sranks, scores(sranks))


def _resampled_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)


def bootstrap(values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED,
              level: float = LEVEL) -> Estimate:
    """The mean with a percentile bootstrap interval (NaN for no values)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(_resampled_means(data, resamples, seed), [tail, 100 - tail])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


def summarize(queries: Sequence[QueryMetrics], level: str = "file", *, resamples: int = RESAMPLES,
              seed: int = SEED) -> dict[str, Estimate]:
    """Mean and CI of every metric over the queries that have figures at this level."""
    rows = [q.file if level == "file" else q.symbol for q in queries]
    present = [r for r in rows if r is not None]
    return {m: bootstrap([r[m] for r in present], resamples=resamples, seed=seed) for m in METRICS}


def paired(a: Sequence[float], b: Sequence[float], *, names: tuple[str, str] = ("a", "b"),
           metric: str = "mrr", resamples: int = RESAMPLES, seed: int = SEED,
           level: float = LEVEL) -> PairedComparison:
    """Paired bootstrap of the per-query differences a - b (same queries, same order)."""
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs the same queries: {len(a)} vs {len(b)} values")
    diff = bootstrap(np.asarray(a, dtype=float) - np.asarray(b, dtype=float),
                     resamples=resamples, seed=seed, level=level)
    return PairedComparison(names[0], names[1], metric, diff.mean, diff.low, diff.high, diff.n)


def compare(a: Sequence[QueryMetrics], b: Sequence[QueryMetrics], names: tuple[str, str],
            metric: str = "mrr", level: str = "file") -> PairedComparison:
    """Paired comparison of two strategies' per-query figures, matched by case id."""
    def by_id(rows: Sequence[QueryMetrics]) -> dict[str, float]:
        return {q.case_id: (q.file if level == "file" else q.symbol or {}).get(metric, math.nan) for q in rows}
    left, right = by_id(a), by_id(b)
    if left.keys() != right.keys():
        raise ValueError("paired comparison needs both strategies run on the same cases")
    ids = [i for i in left if not math.isnan(left[i])]
    return paired([left[i] for i in ids], [right[i] for i in ids], names=names, metric=metric)
