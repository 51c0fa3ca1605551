"""The benchmark proper, run by `eval/bench_index.py` with the code snapshot first on the path.

    python -m bench.suite --work DIR --code SNAPSHOT --commit C [--output BENCH.md] [user flags]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import report
from bench.corpus import Corpus, self_corpus, sqlalchemy_corpus
from bench.families import (
    Reps, measure_bm25, measure_full_index, measure_noop, measure_one_file_edit, measure_search, profile_paths,
)
from bench.options import CORPORA, user_flags
from bench.records import CorpusResult
from bench.runner import IndexRoots

FULL = Reps(startup=5, noop=5, edit=5, search=12, refresh=10, in_process=24)
QUICK = Reps(startup=2, noop=2, edit=2, search=3, refresh=2, in_process=5)


def log(message: str) -> None:
    """Progress for the person waiting, on stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def prepare(name: str, work: Path, code: Path, commit: str) -> Corpus:
    """A working copy of the named corpus under `work`."""
    return sqlalchemy_corpus(work) if name == "sqlalchemy" else self_corpus(code, work, commit)


def bench_corpus(corpus: Corpus, roots: IndexRoots, reps: Reps, profile: bool) -> CorpusResult:
    """Every measurement family on one corpus, each on its own index root."""
    log(f"{corpus.label}: full index (child process)")
    full_root = roots.fresh("full")
    full, paths = measure_full_index(corpus, roots, full_root)
    log(f"{corpus.label}: no-op re-index")
    noop = measure_noop(corpus, roots, roots.copy(full_root, "noop"), reps)
    log(f"{corpus.label}: search")
    searched = measure_search(corpus, roots, roots.copy(full_root, "search"), reps)
    log(f"{corpus.label}: BM25 baseline")
    bm25 = measure_bm25(corpus, paths, reps)
    log(f"{corpus.label}: one-file change")
    edit = measure_one_file_edit(corpus, roots, roots.copy(full_root, "edit"), paths, reps)
    profiles = {}
    if profile:
        log(f"{corpus.label}: cProfile")
        profiles = profile_paths(corpus, roots.copy(full_root, "profile"), paths)
    families = (full, noop, edit, searched, bm25)
    return CorpusResult(
        label=corpus.label,
        figures=tuple(f for family in families for f in family.figures),
        notes=(f"corpus folder: `{corpus.path.name}`", *(n for family in families for n in family.notes),
               f"queries: {'; '.join(corpus.queries)}"),
        profiles=profiles,
    )


def main(argv: list[str] | None = None) -> int:
    """Run every family on the chosen corpora; print the table; write BENCH.md if asked."""
    parser = user_flags(argparse.ArgumentParser())
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--code", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--command", default="")
    args = parser.parse_args(argv)
    reps = QUICK if args.quick else FULL
    names = ["self"] if args.quick else list(CORPORA) if args.corpus == "all" else [args.corpus]
    results = [bench_corpus(prepare(name, args.work, args.code, args.commit),
                            IndexRoots(args.work / "roots" / name, args.code), reps, args.profile)
               for name in names]
    print(report.table(results))
    if args.output:
        args.output.write_text(report.markdown(results, args.command, args.commit))
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
