"""The measurement families. Each runs on its own index root (new, or a copy of the full index)
and returns table rows plus notes for BENCH.md."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from indexer import IndexSettings, SearchOptions, index_repo, search
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout

from bench.bm25 import Bm25Index
from bench.corpus import Corpus, apply_edit, count_lines, pick_edit_target
from bench.profiling import profile_top
from bench.records import Figure, Samples
from bench.runner import FullIndexRun, IndexRoots, full_index, mossen, mossen_index_json

MIB = 1024 * 1024
EMBED_STEP = "embed (model, incl. load)"
SHOWN_QUERIES = 3  # queries whose top files are listed side by side in the notes


@dataclass(frozen=True, slots=True)
class Reps:
    """How many times each operation is repeated."""

    startup: int
    noop: int
    edit: int
    search: int
    refresh: int
    in_process: int


@dataclass(frozen=True, slots=True)
class Measured:
    """What one family produced."""

    figures: list[Figure]
    notes: list[str]


def timed(call: Callable[[], Any]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def settings_for(root: Path) -> IndexSettings:
    """In-process settings using `root` and defaults for everything else."""
    return IndexSettings(index_root=root)


def indexed_paths(repo: Path, root: Path) -> list[str]:
    """Every file in the catalog of `repo`'s index under `root`."""
    layout = IndexLayout.for_repo(repo.resolve(), settings_for(root))
    with Catalog(layout.catalog) as catalog:
        return sorted(catalog.files())


def measure_full_index(corpus: Corpus, roots: IndexRoots, root: Path) -> tuple[Measured, list[str]]:
    """A full index on a fresh root; also returns the paths it indexed."""
    run = full_index(corpus.path, root, roots.env(root))
    paths = indexed_paths(corpus.path, root)
    r, wall = run.report, run.wall
    embed_seconds = run.phases.get(EMBED_STEP, 0.0)
    layout = IndexLayout.for_repo(corpus.path.resolve(), settings_for(root))
    cache = sum(p.stat().st_size for p in root.glob(f"{layout.embedding_cache.name}*"))
    figures = [
        Figure("files indexed", len(paths), "count", "files in the catalog after the full index"),
        Figure("lines indexed", count_lines(corpus.path, paths), "count", "lines of text in those files"),
        Figure("chunks", r["chunks_total"], "count", "chunks in the catalog"),
        Figure("full index wall", wall, "s", "`index_repo()` in a child process, fresh index root"),
        Figure("files/s", len(paths) / wall, "/s", "files indexed / full index wall"),
        Figure("chunks/s", r["chunks_total"] / wall, "/s", "chunks / full index wall"),
        Figure("embeddings/s (model time)", r["embedded"] / embed_seconds if embed_seconds else 0.0, "/s",
               "`report.embedded` / seconds inside the embedder, model load included"),
        Figure("embeddings/s (wall)", r["embedded"] / wall, "/s", "`report.embedded` / full index wall"),
        Figure("peak RSS, full index", run.max_rss_kib / 1024, "MiB", "`ru_maxrss` of the full-index child"),
        Figure("index size on disk", layout.size_bytes() / MIB, "MiB", "the repository's index folder"),
        Figure("embedding cache on disk", cache / MIB, "MiB", "the index root's shared embedding cache"),
    ]
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(run.phases.items(), key=lambda i: -i[1]))
    other = wall - sum(run.phases.values())
    notes = [
        f"full index: {r['files_seen']} files seen, {len(r['skipped'])} skipped, {r['embedded']} texts embedded, "
        f"{r['embed_cache_hits']} cache hits; child process wall {run.process_wall:.1f} s",
        f"full index time by step: {steps}, everything else {other:.1f} s",
    ]
    return Measured(figures, notes), paths


def measure_noop(corpus: Corpus, roots: IndexRoots, root: Path, reps: Reps) -> Measured:
    """CLI start-up, then a re-index that finds nothing to do: fresh process and in-process."""
    env = roots.env(root)
    startup = Samples(tuple(mossen(["--version"], env).seconds for _ in range(reps.startup)))
    runs = [mossen_index_json(corpus.path, env) for _ in range(reps.noop)]
    fresh = Samples(tuple(seconds for seconds, _ in runs))
    settings = settings_for(root)
    index_repo(corpus.path, settings)  # warm-up: this process's imports and lazy parts
    in_process = Samples(tuple(timed(lambda: index_repo(corpus.path, settings)) for _ in range(reps.noop)))
    changed = sorted({report["files_changed"] for _, report in runs})
    return Measured([
        Figure("CLI start-up", startup.median * 1000, "ms", f"`mossen --version`, fresh process, n={len(startup)}"),
        Figure("no-op re-index, fresh process", fresh.median, "s", f"`mossen index PATH`, n={len(fresh)}"),
        Figure("no-op re-index, in-process", in_process.median, "s",
               f"`index_repo()` after a warm-up call, n={len(in_process)}"),
    ], [f"no-op re-index: files_changed per run {changed}"])


def measure_search(corpus: Corpus, roots: IndexRoots, root: Path, reps: Reps) -> Measured:
    """`mossen search` as fresh processes (with and without refresh), and `search()` in-process."""
    env = roots.env(root)
    base = ["search", "--path", str(corpus.path), "--json"]
    queries = list(itertools.islice(itertools.cycle(corpus.queries), max(reps.search, reps.in_process)))
    no_refresh = Samples(tuple(mossen([*base, "--no-refresh", q], env).seconds for q in queries[:reps.search]))
    refresh = Samples(tuple(mossen([*base, q], env).seconds for q in queries[:reps.refresh]))
    settings, options = settings_for(root), SearchOptions(top_k=10)
    search(corpus.path, corpus.queries[0], settings, options)  # warm-up
    in_process = Samples(tuple(timed(lambda q=q: search(corpus.path, q, settings, options))
                               for q in queries[:reps.in_process]))
    notes = []
    for query in corpus.queries[:SHOWN_QUERIES]:
        hits = search(corpus.path, query, settings, options)
        top = ", ".join(f"{h.path}:{h.start_line}" for h in hits[:3]) or "no hits"
        notes.append(f"mossen top 3 for \"{query}\": {top}")
    return Measured([
        Figure("search --no-refresh, fresh process", no_refresh.median * 1000, "ms",
               f"`mossen search Q --json --no-refresh`, varied queries, n={len(no_refresh)}"),
        Figure("search --no-refresh, fresh process, p90", no_refresh.p90 * 1000, "ms", "the same runs, p90"),
        Figure("search with refresh, fresh process", refresh.median * 1000, "ms",
               f"`mossen search Q --json` (no-op refresh first), n={len(refresh)}"),
        Figure("search() in-process", in_process.median * 1000, "ms",
               f"`search(top_k=10)` after a warm-up call, n={len(in_process)}"),
    ], notes)


def build_bm25(corpus: Corpus, paths: list[str]) -> tuple[Bm25Index, float]:
    """The BM25 baseline index of these files, and the seconds its build took."""
    started = time.perf_counter()
    index = Bm25Index.build(corpus.path, paths)
    return index, time.perf_counter() - started


def measure_bm25(corpus: Corpus, paths: list[str], reps: Reps,
                 built: tuple[Bm25Index, float] | None = None) -> Measured:
    """The BM25 baseline over whole files: build (read + tokenise + index) and per-query time."""
    index, build = built or build_bm25(corpus, paths)
    index.query(corpus.queries[0])  # warm-up
    queries = itertools.islice(itertools.cycle(corpus.queries), reps.in_process)
    per_query = Samples(tuple(timed(lambda q=q: index.query(q)) for q in queries))
    notes = [f"BM25 top 3 for \"{q}\": {', '.join(p for p, _ in index.query(q, 3)) or 'no hits'}"
             for q in corpus.queries[:SHOWN_QUERIES]]
    return Measured([
        Figure("BM25 baseline build", build, "s", "read + tokenise (`code_terms`) + index every indexed file"),
        Figure("BM25 baseline query", per_query.median * 1000, "ms",
               f"whole-file BM25, top 10, in-process, n={len(per_query)}"),
    ], notes)


def measure_one_file_edit(corpus: Corpus, roots: IndexRoots, root: Path, paths: list[str], reps: Reps) -> Measured:
    """Edit one function (a different edit each time), then `mossen index` as a fresh process."""
    env = roots.env(root)
    target = pick_edit_target(corpus.path, paths)
    file = corpus.path / target.path
    original = file.read_text(encoding="utf-8")
    runs = []
    try:
        for number in range(1, reps.edit + 1):
            apply_edit(corpus.path, target, original, number)
            runs.append(mossen_index_json(corpus.path, env))
    finally:
        file.write_text(original, encoding="utf-8")
    wall = Samples(tuple(seconds for seconds, _ in runs))
    embedded = Samples(tuple(float(report["embedded"]) for _, report in runs))
    return Measured([
        Figure("one-file re-index, fresh process", wall.median, "s",
               f"edit one function, then `mossen index PATH`, n={len(wall)}"),
        Figure("chunks re-embedded per one-file edit", embedded.median, "count", "`report.embedded` of those runs"),
    ], [
        f"one-file edit: `{target.path}` ({target.lines} lines), a statement added to `{target.function}`; "
        f"per run embedded {[r['embedded'] for _, r in runs]}, chunks added {[r['chunks_added'] for _, r in runs]}, "
        f"removed {[r['chunks_removed'] for _, r in runs]}",
    ])


def profile_paths(corpus: Corpus, root: Path, paths: list[str]) -> dict[str, str]:
    """cProfile, in-process, of a no-op re-index, one search, and a one-file-change re-index."""
    settings = settings_for(root)
    index_repo(corpus.path, settings)  # warm-up
    profiles = {
        "no-op index_repo()": profile_top(lambda: index_repo(corpus.path, settings)),
        "search()": profile_top(lambda: search(corpus.path, corpus.queries[0], settings, SearchOptions(top_k=10))),
    }
    target = pick_edit_target(corpus.path, paths)
    original = (corpus.path / target.path).read_text(encoding="utf-8")
    try:
        apply_edit(corpus.path, target, original, 1000)
        profiles["one-file-change index_repo()"] = profile_top(lambda: index_repo(corpus.path, settings))
    finally:
        (corpus.path / target.path).write_text(original, encoding="utf-8")
    return profiles
