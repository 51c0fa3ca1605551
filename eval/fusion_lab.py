"""Score ranking weightings on the shipped suites without re-running the retrievers for each one.

    .venv/bin/python eval/fusion_lab.py                        # the shipped strategies
    .venv/bin/python eval/fusion_lab.py --config my.toml       # weightings of your own
    .venv/bin/python eval/fusion_lab.py --only "mossen history" --config my.toml

Every signal's ranked list is collected once per case (`Searcher.signals`), then fused under each
weighting by the very code `mossen search` runs (`Searcher.fuse`), so a weighting costs a fusion per
case instead of a search. A config file holds one table per weighting, each a SearchOptions:

    [dense-heavy]
    weights = { dense = 2.0, lexical = 0.75, file_lexical = 0.75, symbol = 0.5 }
    test_weight = 0.25

It prints, per weighting, file-level MRR on every suite beside the better of lexical-only and
dense-only, the paired difference with its 95% CI, and the pooled external benchmark's Hit@5 and
MRR. The suites' indexes are the ones eval/run_all.py builds (built here when missing).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import fmean

from run_all import Entry, corpus_folder, entry_cases, eval_settings, load_manifest  # also sets sys.path

from indexer import STRATEGIES, IndexSettings, Searcher, identifiers, index_repo, retrieve, strategy_options
from indexer.retrieve import DEFAULT_STRATEGY, SearchOptions, Signals
from indexer.store import catalog
from indexer.settings import DEFAULT_EMBED_BACKEND
from mossen.evaluation.cases import Case
from mossen.evaluation.docstrings import strip_docstrings
from mossen.evaluation.metrics import QueryMetrics, compare, query_metrics, summarize
from mossen.evaluation.runner import BASELINES, eval_cache_root, stripped_corpus

TOP_K = 100  # as eval/run_all.py


@dataclass(frozen=True, slots=True)
class SuiteScores:
    """Every weighting's per-query figures on one suite."""

    name: str
    entry: Entry
    queries: dict[str, list[QueryMetrics]]  # weighting name -> per case


def load_configs(path: Path | None) -> dict[str, SearchOptions]:
    """The weightings to score: the single retrievers always, then the file's tables or the shipped strategies."""
    configs = {b: strategy_options(b, top_k=TOP_K) for b in BASELINES}
    if path is None:
        return configs | {s: strategy_options(s, top_k=TOP_K) for s in STRATEGIES}
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SystemExit(f"{path}: {error}") from None
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise SystemExit(f"{path}: {name!r} is not a table; write [{name}] and its options below it")
        try:
            base = strategy_options(str(table.pop("strategy", DEFAULT_STRATEGY)), top_k=TOP_K)
            configs[name] = replace(base, **table)
        except (TypeError, ValueError) as error:
            raise SystemExit(f"{path}: [{name}]: {error}") from None
    return configs


def collect_options(configs: dict[str, SearchOptions], candidates: str | None) -> SearchOptions:
    """Options that collect every signal any weighting uses."""
    signals = {s for c in configs.values() for s, w in c.weights.items() if w}
    return SearchOptions(top_k=TOP_K, glob=candidates, weights=dict.fromkeys(signals, 1.0))


def score_suite(entry: Entry, configs: dict[str, SearchOptions], settings: IndexSettings) -> SuiteScores:
    """Collect the suite's signals once (or read them from the cache), then fuse and score every weighting."""
    root = corpus_folder(entry.corpus)
    corpus = stripped_corpus(root, strip_docstrings, eval_cache_root()) if entry.strip else root
    index_repo(corpus, settings)
    cases: list[Case] = entry_cases(entry)
    queries: dict[str, list[QueryMetrics]] = {name: [] for name in configs}
    scoped = {name: replace(options, glob=entry.candidates) for name, options in configs.items()}
    with Searcher(corpus, settings) as searcher:
        collected = cached_signals(searcher, entry, cases, collect_options(configs, entry.candidates))
        for case in cases:
            for name, options in scoped.items():
                hits = searcher.fuse(collected[case.query], options)
                queries[name].append(query_metrics(case.id, hits, case.gold_files, case.gold_symbols))
    return SuiteScores(entry.name, entry, queries)


def cached_signals(searcher: Searcher, entry: Entry, cases: list[Case], collect: SearchOptions) -> dict[str, Signals]:
    """Every case's signals by query, read from the cache when the index holds the same chunks and the same
    signals were collected by the same code (chunk ids derive from content, so a re-stripped copy keeps its
    cache; an edit of the ranking, identifier or catalog code does not)."""
    chunks = hashlib.sha256("\n".join(sorted(searcher.catalog.all_chunk_ids())).encode()).hexdigest()[:16]
    code = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (retrieve, identifiers, catalog)))
    code = code.hexdigest()[:16]
    key = f"{entry.name}|{sorted(collect.weights)}|{collect.glob}|{collect.top_k}|{chunks}|{code}"
    path = eval_cache_root() / "fusion-lab" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.pickle"
    if path.exists():
        stored = pickle.loads(path.read_bytes())
        if all(c.query in stored for c in cases):
            return stored
    collected = {case.query: searcher.signals(case.query, collect) for case in cases}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(collected))
    return collected


def report(scores: list[SuiteScores], configs: dict[str, SearchOptions]) -> str:
    """Markdown: per weighting, every suite against the better single retriever, then the pooled benchmark."""
    lines: list[str] = []
    best_single = {s.name: max(BASELINES, key=lambda b: _mrr(s.queries[b])) for s in scores}
    for name in configs:
        if name in BASELINES:
            continue
        wins, rows = 0, []
        for suite in scores:
            best = best_single[suite.name]
            head = compare(suite.queries[name], suite.queries[best], (name, best), "mrr")
            wins += head.significant and head.diff > 0
            mrr = _mrr(suite.queries[name])
            verdict = "sig" if head.significant and head.diff > 0 else ("**worse**" if head.significant else "ns")
            rows.append(f"| {suite.name} | {len(suite.queries[name])} | {mrr:.3f} | {best} "
                        f"{mrr - head.diff:.3f} | {head.diff:+.3f} [{head.low:+.3f}, {head.high:+.3f}] {verdict} |")
        lines += [f"## {name}: {wins} of {len(scores)} suites won significantly", "", f"`{configs[name]}`", ""]
        lines += _pooled(scores, name)
        lines += ["| suite | N | file MRR | best single | difference (95% CI) |", "|---|---:|---:|---|---|", *rows, ""]
    return "\n".join(lines)


def _mrr(queries: list[QueryMetrics]) -> float:
    """Mean file-level MRR (no bootstrap: the paired comparison carries the interval)."""
    return fmean(q.file["mrr"] for q in queries)


def _pooled(scores: list[SuiteScores], name: str) -> list[str]:
    """Suites cut from one file (the external benchmark) pooled back: Hit@5 and MRR."""
    groups: dict[tuple[Path, ...], list[SuiteScores]] = {}
    for suite in scores:
        groups.setdefault(suite.entry.files, []).append(suite)
    lines = []
    for files, parts in groups.items():
        if len(parts) > 1:
            figures = summarize([q for p in parts for q in p.queries[name]], "file")
            lines.append(f"Pooled `{files[0].name}`: Hit@5 {figures['hit@5'].mean:.3f}, MRR {figures['mrr'].mean:.3f}")
    return [*lines, ""] if lines else []


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="TOML file of weightings (default: the shipped strategies)")
    parser.add_argument("--only", nargs="*", default=None, help="suite names (default: all, with the regression suite)")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--backend", default=DEFAULT_EMBED_BACKEND, help="embedding backend of the indexes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Score every weighting on the chosen suites and print the report."""
    args = parse_args(argv)
    configs = load_configs(args.config)
    suites, regression, _ = load_manifest()
    chosen = [e for e in [*suites, regression] if args.only is None or e.name in args.only]
    settings = eval_settings(args.backend)
    scores = []
    for number, entry in enumerate(chosen, 1):
        started = time.monotonic()
        scores.append(score_suite(entry, configs, settings))
        print(f"[{number}/{len(chosen)}] {entry.name}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    text = report(scores, configs)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
