"""Retrieval metrics against figures computed by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from mossen.evaluation.cases import GoldSymbol
from mossen.evaluation.metrics import (
    bootstrap, compare, file_ranking, file_ranks, ndcg_at, paired, query_metrics, reciprocal_rank,
    recall_at, scores, summarize, symbol_ranks,
)


@dataclass(frozen=True)
class Hit:
    path: str
    start_line: int = 1
    end_line: int = 10


def hits(*paths: str) -> list[Hit]:
    return [Hit(p) for p in paths]


def test_files_are_ranked_by_first_appearance() -> None:
    ranked = hits("a.py", "b.py", "a.py", "c.py", "b.py", "d.py")
    assert file_ranking(ranked) == ["a.py", "b.py", "c.py", "d.py"]
    assert file_ranks(ranked, ["d.py", "x.py", "c.py"]) == (4, None, 3)


def test_duplicate_gold_files_count_once() -> None:
    assert file_ranks(hits("a.py"), ["a.py", "a.py"]) == (1,)


def test_mrr_uses_the_best_rank() -> None:
    assert reciprocal_rank((3, None)) == pytest.approx(1 / 3)
    assert reciprocal_rank((None, None)) == 0.0
    # two queries, ranks [3] and [None]: mean reciprocal rank 1/6
    assert (reciprocal_rank((3,)) + reciprocal_rank((None,))) / 2 == pytest.approx(1 / 6)


def test_recall_is_the_share_of_gold_within_k() -> None:
    ranks = (1, 4, 7, None)
    assert recall_at(ranks, 1) == 0.25
    assert recall_at(ranks, 5) == 0.5
    assert recall_at(ranks, 10) == 0.75
    assert recall_at((), 5) == 0.0


def test_ndcg_by_hand() -> None:
    # gold at ranks 2 and 4 of 2 gold items: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at((2, 4), 10) == pytest.approx(expected)
    assert ndcg_at((1,), 10) == 1.0
    assert ndcg_at((11,), 10) == 0.0
    # ideal DCG is capped at k items: 12 gold, the first 10 retrieved at ranks 1..10 -> perfect
    assert ndcg_at(tuple(range(1, 11)) + (None, None), 10) == pytest.approx(1.0)


def test_scores_for_one_query() -> None:
    got = scores((6, None))
    assert got == {"hit@5": 0.0, "r@1": 0.0, "r@5": 0.0, "r@10": 0.5, "mrr": pytest.approx(1 / 6),
                   "ndcg@10": pytest.approx((1 / math.log2(7)) / (1 + 1 / math.log2(3)))}
    assert scores((5,))["hit@5"] == 1.0


def test_symbols_are_found_at_the_first_overlapping_chunk_of_their_file() -> None:
    ranked = [Hit("a.py", 1, 20), Hit("b.py", 30, 50), Hit("a.py", 40, 60), Hit("a.py", 55, 70)]
    gold = [GoldSymbol("a.py", "f", 50, 58), GoldSymbol("b.py", "g", 51, 60), GoldSymbol("c.py", "h", 1, 5)]
    # a.py:50-58 overlaps the chunk ranked 3 first; b.py:51-60 starts after 30-50 ends
    assert symbol_ranks(ranked, gold) == (3, None, None)
    assert symbol_ranks([Hit("b.py", 30, 51)], gold[1:2]) == (1,)  # touching one line counts


def test_cases_without_gold_symbols_are_left_out_of_symbol_figures() -> None:
    ranked = [Hit("a.py", 1, 10)]
    with_symbol = query_metrics("q1", ranked, ["a.py"], [GoldSymbol("a.py", "f", 5, 8)])
    file_only = query_metrics("q2", ranked, ["b.py"])
    assert file_only.symbol is None and file_only.symbol_ranks is None
    assert with_symbol.symbol_ranks == (1,)
    symbol_level = summarize([with_symbol, file_only], "symbol")
    assert symbol_level["mrr"].n == 1 and symbol_level["mrr"].mean == 1.0
    file_level = summarize([with_symbol, file_only], "file")
    assert file_level["mrr"].n == 2 and file_level["mrr"].mean == 0.5


def test_bootstrap_interval_contains_the_mean_and_is_deterministic() -> None:
    values = [1.0, 0.0, 0.5, 1.0, 0.25, 0.0, 1.0, 0.333, 0.2, 1.0]
    first, second = bootstrap(values), bootstrap(values)
    assert first == second
    assert first.mean == pytest.approx(sum(values) / len(values))
    assert first.low < first.mean < first.high
    assert 0.0 <= first.low and first.high <= 1.0
    assert bootstrap(values, seed=1) != first  # the seed, not luck, makes it repeatable


def test_bootstrap_of_nothing_is_nan() -> None:
    empty = bootstrap([])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_paired_comparison_flags_a_clear_difference() -> None:
    better = [1.0, 1.0, 0.5, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.5] * 3
    worse = [0.5, 0.0, 0.25, 0.5, 1.0, 0.0, 0.5, 0.33, 0.5, 0.5] * 3
    result = paired(better, worse, names=("hybrid", "lexical"))
    assert result.significant
    assert result.diff == pytest.approx(sum(better) / 30 - sum(worse) / 30)
    assert 0 < result.low <= result.diff <= result.high
    assert not paired(better, better).significant
    assert paired(better, better).diff == 0.0


def test_paired_comparison_does_not_flag_noise() -> None:
    a = [1.0, 0.0] * 10
    b = [0.0, 1.0] * 9 + [1.0, 0.0]
    result = paired(a, b)
    assert result.low < 0 < result.high and not result.significant


def test_compare_matches_queries_by_case_id() -> None:
    a = [query_metrics("q1", hits("x.py"), ["x.py"]), query_metrics("q2", hits("y.py"), ["z.py"])]
    b = list(reversed([query_metrics("q1", hits("y.py", "x.py"), ["x.py"]),
                       query_metrics("q2", hits("y.py"), ["z.py"])]))
    result = compare(a, b, ("a", "b"))
    assert result.n == 2 and result.diff == pytest.approx((1.0 - 0.5) / 2)
    with pytest.raises(ValueError):
        compare(a, b[:1], ("a", "b"))
