"""Regenerate eval/RESULTS.md: every shipped suite of eval/suites.toml, all strategies side by side.

    .venv/bin/python eval/run_all.py [--only NAME ...] [--strategy lexical,dense,hybrid] [--no-write]
    .venv/bin/python eval/run_all.py --update-baseline     # also re-record eval/baseline.json (CI check)
    .venv/bin/python eval/run_all.py --baseline-only --update-baseline
    .venv/bin/python eval/run_all.py --backend onnx-int8 --no-write   # another embedding backend

Corpora are fetched once by eval/make_suites.py's `fetch` (pinned, from eval/corpora.toml) into
`${XDG_CACHE_HOME:-~/.cache}/mossen-eval/corpora/`; their indexes and docstring-stripped copies live
in the same cache folder, never in the repository (int8 indexes in their own folder: their model id differs,
so they never meet fp32 ones). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent
# Measure this checkout's code, whatever checkout the venv's editable install points at.
sys.path.insert(1, str(REPO_ROOT))

from make_suites import fetch, load_corpora  # noqa: E402 (after the path set-up above)

from indexer import STRATEGIES, IndexSettings  # noqa: E402
from indexer.embed.base import MODEL_ID, model_id_for  # noqa: E402
from indexer.settings import DEFAULT_EMBED_BACKEND, EMBED_BACKENDS  # noqa: E402
from indexer.retrieve import DEFAULT_STRATEGY  # noqa: E402
from mossen.evaluation.cases import Case, read_cases  # noqa: E402
from mossen.evaluation.docstrings import strip_docstrings  # noqa: E402
from mossen.evaluation.metrics import summarize  # noqa: E402
from mossen.evaluation.report import suite_json, suite_markdown  # noqa: E402
from mossen.evaluation.runner import RunEvent, SuiteResult, eval_cache_root, run_suite, stripped_corpus  # noqa: E402

MANIFEST = EVAL_DIR / "suites.toml"
RESULTS = EVAL_DIR / "RESULTS.md"
BASELINE = EVAL_DIR / "baseline.json"
SUITES_DIR = EVAL_DIR / "suites"


@dataclass(frozen=True, slots=True)
class Entry:
    """One [[suite]] of eval/suites.toml: which cases, against which corpus, stripped or not."""

    name: str
    files: tuple[Path, ...]
    corpus: str  # a name in eval/corpora.toml, or "path:FOLDER" relative to the repository
    strip: bool
    candidates: str | None = None  # what may be retrieved, when the benchmark defines it (e.g. "*.py")


def load_manifest(path: Path = MANIFEST) -> tuple[list[Entry], Entry, float]:
    """The suites to run, the regression suite, and its tolerance."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def entry(e: dict, base: Path) -> Entry:
        files = e["file"] if isinstance(e["file"], list) else [e["file"]]
        return Entry(e["name"], tuple(base / f for f in files), e["corpus"], bool(e.get("strip", False)),
                     e.get("candidates"))
    regression = data["regression"]
    return ([entry(e, SUITES_DIR) for e in data["suite"]], entry(regression, REPO_ROOT),
            float(regression.get("tolerance", 0.02)))


def corpus_folder(corpus: str) -> Path:
    """The folder a suite's gold paths are relative to, fetched into the cache if need be."""
    if corpus.startswith("path:"):
        return REPO_ROOT / corpus.removeprefix("path:")
    return fetch(load_corpora()[corpus])


def entry_cases(entry: Entry) -> list[Case]:
    """The entry's cases; a file holding several corpora contributes the cases naming this one."""
    cases = [c for f in entry.files for c in read_cases(f)]
    return [c for c in cases if c.meta.get("corpus", entry.corpus) == entry.corpus]


class Reporter:
    """Plain progress lines on stderr: indexing, then searching every ~10%."""

    def __init__(self, label: str) -> None:
        self.label, self._phase, self._step = label, "", -1

    def __call__(self, event: RunEvent) -> None:
        if event.phase != self._phase:
            self._phase, self._step = event.phase, -1
            print(f"  {self.label}: {'indexing' if event.phase == 'index' else 'searching'}", file=sys.stderr)
        if event.phase == "search" and event.total:
            step = int(10 * event.done / event.total)
            if step != self._step:
                self._step = step
                print(f"    {event.done:.0f}/{event.total}", file=sys.stderr, flush=True)


def run_entry(entry: Entry, strategies: list[str], top_k: int, settings: IndexSettings) -> SuiteResult:
    """Fetch (and strip) the corpus, then run the suite."""
    root = corpus_folder(entry.corpus)
    corpus = stripped_corpus(root, strip_docstrings, eval_cache_root()) if entry.strip else root
    return run_suite(root, settings, entry_cases(entry), strategies, top_k, Reporter(entry.name),
                     corpus_root=corpus, name=entry.name, candidates=entry.candidates)


def _git_head() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _summary(results: list[SuiteResult]) -> list[str]:
    lines = [f"| suite | N | {DEFAULT_STRATEGY} file MRR | best of lexical/dense | paired difference (95% CI) "
             "| a perfect ranking's difference (95% CI) |", "|---|---|---|---|---|---|"]
    for r in results:
        head = next((c for c in r.comparisons if c.b == r.best_baseline), None)
        if head is None or r.best_baseline is None:
            continue
        verdict = ("**significant**" if head.diff > 0 else "**significantly worse**") if head.significant \
            else "not significant"
        lines.append(f"| {r.name} | {r.cases} | {r.strategies[DEFAULT_STRATEGY].file['mrr'].mean:.3f} | "
                     f"{r.best_baseline} {r.strategies[r.best_baseline].file['mrr'].mean:.3f} | "
                     f"{head.diff:+.3f} [{head.low:+.3f}, {head.high:+.3f}] {verdict} | {_headroom_cell(r)} |")
    return lines


def _headroom_cell(result: SuiteResult) -> str:
    """The most any ranking could gain over the better single retriever, and whether N can show it."""
    c = result.headroom
    if c is None:
        return "—"
    cell = f"{c.diff:+.3f} [{c.low:+.3f}, {c.high:+.3f}]"
    return cell if c.significant else f"{cell} too few queries to show any win"


def _pooled(results: list[SuiteResult], entries: list[Entry]) -> list[str]:
    """Suites cut from one file (the external benchmark: one per project) pooled back into one table."""
    groups: dict[tuple[Path, ...], list[SuiteResult]] = {}
    for result, entry in zip(results, entries):
        groups.setdefault(entry.files, []).append(result)
    lines: list[str] = []
    for files, parts in groups.items():
        if len(parts) < 2:
            continue
        names = " + ".join(p.name.split(" ")[0] for p in parts)
        lines += [f"## Pooled: `{files[0].name}` ({names}, {sum(p.cases for p in parts)} queries)", "",
                  "| strategy | N | Hit@5 | MRR | R@10 |", "|---|---|---|---|---|"]
        for strategy in parts[0].strategies:
            queries = [q for p in parts for q in p.strategies[strategy].queries]
            figures = summarize(queries, "file")
            cells = " | ".join(f"{figures[m].mean:.3f} [{figures[m].low:.3f}, {figures[m].high:.3f}]"
                               for m in ("hit@5", "mrr", "r@10"))
            lines.append(f"| {strategy} | {len(queries)} | {cells} |")
        lines.append("")
    return lines


def results_markdown(results: list[SuiteResult], entries: list[Entry], seconds: float) -> str:
    """The whole RESULTS.md."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Retrieval quality", "",
        "Regenerated by `.venv/bin/python eval/run_all.py` (suites: `eval/suites.toml`, corpora: "
        "`eval/corpora.toml`). Do not edit by hand.", "",
        f"Commit {_git_head()}, {stamp}, Python {platform.python_version()}, {seconds / 60:.1f} min. "
        "Top 100 chunks per query; files ranked by first appearance; 95% percentile-bootstrap CIs "
        "(2000 resamples, seed 0); paired comparisons bootstrap the per-query differences.", "",
        f"## Summary: the default ({DEFAULT_STRATEGY}) against the better single retriever, file-level MRR", "",
        "The last column puts a perfect ranking (a gold file first for every query) in the default's place: "
        "the most any ranking can gain on that suite. Where even its interval reaches 0, the suite has too "
        "few queries to show any ranking significantly better than the single retriever.", "",
        *_summary(results), "", *_pooled(results, entries),
    ]
    for result, entry in zip(results, entries):
        note = f"Corpus `{entry.corpus}`" + (", docstrings stripped before indexing" if entry.strip else "") \
            + (f", candidates `{entry.candidates}` (the benchmark's candidate set)" if entry.candidates else "") + "."
        lines.append(suite_markdown(result, note=note))
    return "\n".join(lines)


def write_baseline(result: SuiteResult, entry: Entry, tolerance: float) -> None:
    """eval/baseline.json: what tests/test_eval_regression.py runs and the Recall@5 it must keep."""
    from_root = [str(f.relative_to(REPO_ROOT)) for f in entry.files]
    figures = {s: {m: round(e.mean, 4) for m, e in r.file.items()} for s, r in result.strategies.items()}
    data = {
        "about": "file-level Recall@5 of the shipped strategy on the regression suite; "
                 "written by eval/run_all.py --update-baseline, checked by tests/test_eval_regression.py",
        "suite_files": from_root, "corpus": entry.corpus.removeprefix("path:"), "strip_docstrings": entry.strip,
        "strategy": DEFAULT_STRATEGY, "metric": "r@5", "value": figures[DEFAULT_STRATEGY]["r@5"],
        "tolerance": tolerance,
        "cases": result.cases, "file_level": figures, "commit": _git_head(),
    }
    BASELINE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {BASELINE.relative_to(REPO_ROOT)}: {DEFAULT_STRATEGY} file R@5 = {data['value']}", file=sys.stderr)


def eval_settings(backend: str) -> IndexSettings:
    """Settings of the eval indexes: one index root per model id, so two models never share an index."""
    folder = "indexes" if model_id_for(backend) == MODEL_ID else f"indexes-{backend}"
    return IndexSettings(index_root=eval_cache_root() / folder, embed_backend=backend)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="suite names (default: all); prints JSON instead "
                                                                 "of writing RESULTS.md")
    parser.add_argument("--strategy", default=",".join(STRATEGIES), help="comma-separated strategies")
    parser.add_argument("--top-k", type=int, default=100, help="chunks retrieved per query")
    parser.add_argument("--update-baseline", action="store_true", help="re-record eval/baseline.json")
    parser.add_argument("--baseline-only", action="store_true", help="run only the regression suite")
    parser.add_argument("--no-write", action="store_true", help="print JSON, do not write RESULTS.md")
    parser.add_argument("--backend", choices=EMBED_BACKENDS, default=DEFAULT_EMBED_BACKEND,
                        help="embedding backend (int8 indexes live in their own folder)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suites, write RESULTS.md (and the baseline when asked)."""
    args = parse_args(argv)
    started = time.monotonic()
    suites, regression, tolerance = load_manifest()
    chosen = [] if args.baseline_only else [e for e in suites if args.only is None or e.name in args.only]
    if args.update_baseline or args.baseline_only or args.only is None:
        chosen.append(regression)
    settings = eval_settings(args.backend)
    strategies = args.strategy.split(",")
    if args.update_baseline and DEFAULT_STRATEGY not in strategies:
        raise SystemExit(f"--update-baseline needs the default strategy {DEFAULT_STRATEGY!r} in --strategy")
    results = []
    for number, entry in enumerate(chosen, 1):
        print(f"[{number}/{len(chosen)}] {entry.name}", file=sys.stderr)
        results.append(run_entry(entry, strategies, args.top_k, settings))
        if entry is regression and args.update_baseline:
            write_baseline(results[-1], entry, tolerance)
    if args.no_write or args.baseline_only or args.only is not None:  # a partial run never overwrites RESULTS.md
        print(json.dumps([suite_json(r) for r in results]))
        return 0
    RESULTS.write_text(results_markdown(results, chosen, time.monotonic() - started), encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
