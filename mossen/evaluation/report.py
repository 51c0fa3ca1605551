"""Suite results as plain data: table rows, JSON and Markdown (the CLI draws the rich table)."""

from __future__ import annotations

import math
from typing import Sequence

from mossen.evaluation.metrics import METRICS, Estimate, PairedComparison
from mossen.evaluation.runner import SuiteResult

LABELS = {"hit@5": "Hit@5", "r@1": "R@1", "r@5": "R@5", "r@10": "R@10", "mrr": "MRR", "ndcg@10": "nDCG@10"}
FILE_COLUMNS = tuple(f"file {LABELS[m]}" for m in METRICS)
SYMBOL_COLUMNS = tuple(f"sym {LABELS[m]}" for m in METRICS)


def estimate_text(estimate: Estimate) -> str:
    """"0.812 ±0.031", or "—" when no query had figures at that level."""
    if estimate.n == 0 or math.isnan(estimate.mean):
        return "—"
    return f"{estimate.mean:.3f} ±{estimate.half_width:.3f}"


def comparison_text(c: PairedComparison) -> str:
    """"hybrid vs dense, file MRR: +0.042 [0.018, 0.066] significant"."""
    verdict = ("significant" if c.diff > 0 else "significantly worse") if c.significant else "not significant"
    return (f"{c.a} vs {c.b}, file {LABELS.get(c.metric, c.metric)}: "
            f"{c.diff:+.3f} [{c.low:+.3f}, {c.high:+.3f}] {verdict} (n={c.n})")


def headroom_text(c: PairedComparison) -> str:
    """"a perfect ranking vs lexical, file MRR: +0.183 [+0.056, +0.329] (n=18): the most any ranking can gain here"."""
    verdict = ("the most any ranking can gain here" if c.significant and c.diff > 0
               else "too few queries: not even a perfect ranking would be significantly better")
    return (f"{c.a} vs {c.b}, file {LABELS.get(c.metric, c.metric)}: "
            f"{c.diff:+.3f} [{c.low:+.3f}, {c.high:+.3f}] (n={c.n}): {verdict}")


def _comparison_json(c: PairedComparison) -> dict[str, object]:
    return {"a": c.a, "b": c.b, "metric": c.metric, "level": "file", "diff": round(c.diff, 6),
            "low": round(c.low, 6), "high": round(c.high, 6), "n": c.n, "significant": c.significant}


def table_rows(result: SuiteResult) -> list[list[str]]:
    """One row per strategy: name, N, file figures, N with symbols, symbol figures."""
    rows = []
    for name, s in result.strategies.items():
        n_sym = s.symbol[METRICS[0]].n
        rows.append([name, str(len(s.queries)), *(estimate_text(s.file[m]) for m in METRICS),
                     str(n_sym), *(estimate_text(s.symbol[m]) for m in METRICS)])
    return rows


def header() -> list[str]:
    """Column titles matching table_rows."""
    return ["strategy", "N", *FILE_COLUMNS, "N sym", *SYMBOL_COLUMNS]


def _estimate_json(e: Estimate) -> dict[str, float | int | None]:
    def clean(x: float) -> float | None:
        return None if math.isnan(x) else round(x, 6)
    return {"mean": clean(e.mean), "low": clean(e.low), "high": clean(e.high), "n": e.n}


def suite_json(result: SuiteResult) -> dict[str, object]:
    """The whole result as JSON-ready data (per-query ranks included)."""
    return {
        "name": result.name, "corpus": result.corpus, "cases": result.cases,
        "seconds": round(result.seconds, 3), "best_baseline": result.best_baseline,
        "unreachable": list(result.unreachable), "meta": result.meta,
        "strategies": {
            name: {
                "file": {m: _estimate_json(e) for m, e in s.file.items()},
                "symbol": {m: _estimate_json(e) for m, e in s.symbol.items()},
                "queries": [{"id": q.case_id, "file_ranks": list(q.file_ranks),
                             "symbol_ranks": None if q.symbol_ranks is None else list(q.symbol_ranks)}
                            for q in s.queries],
            } for name, s in result.strategies.items()
        },
        "comparisons": [_comparison_json(c) for c in result.comparisons],
        "headroom": None if result.headroom is None else _comparison_json(result.headroom),
    }


def _markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def suite_markdown(result: SuiteResult, title: str | None = None, note: str = "") -> str:
    """A Markdown section: file-level and symbol-level tables, then the paired comparisons."""
    rows = table_rows(result)
    width = len(METRICS)
    lines = [f"## {title or result.name}", ""]
    if note:
        lines += [note, ""]
    lines += ["File level (files ranked by first appearance; mean ±half-width of the 95% bootstrap CI):", ""]
    lines += _markdown_table(["strategy", "N", *(LABELS[m] for m in METRICS)], [r[: 2 + width] for r in rows])
    if any(r[2 + width] != "0" for r in rows):
        lines += ["", "Symbol level (cases with gold symbols):", ""]
        lines += _markdown_table(["strategy", "N", *(LABELS[m] for m in METRICS)],
                                 [[r[0], *r[2 + width:]] for r in rows])
    if result.comparisons:
        lines += ["", "Paired comparison (bootstrap of per-query differences, 95% CI):", ""]
        lines += [f"- {comparison_text(c)}" for c in result.comparisons]
    if result.headroom is not None:
        lines += ["", f"Headroom: {headroom_text(result.headroom)}."]
    if result.unreachable:
        lines += ["", f"{len(result.unreachable)} cases have no gold file in the corpus (counted as misses)."]
    return "\n".join(lines) + "\n"
