"""The scale benchmark proper, run by `eval/bench_scale.py` with the code snapshot first on the path.

    python -m bench.scale --work DIR --code SNAPSHOT --commit C [--lines N] [--files N] [--output BENCH-SCALE.md]

On a synthetic repository of real Python (bench.synthetic) it measures what a
user of a 1,000,000-line repository waits for, every user-facing command as a
fresh process on a throw-away index root, and sets each figure beside its
target. The families of bench_index.py are reused where they fit (no-op and
one-file re-index, the BM25 baseline); the cold two-phase index, token
throughput against the machine's ceiling and grep are measured here, the
searches with and without the warm server in bench.serving.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from indexer import IndexSettings
from indexer.identifiers import query_terms
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout

from bench import ceiling, pagecache, report
from bench.bm25 import Bm25Index
from bench.corpus import SQLALCHEMY_VERSION, Corpus, count_lines, sqlalchemy_sdist
from bench.families import (
    Measured, Reps, build_bm25, indexed_paths, measure_bm25, measure_noop, measure_one_file_edit, settings_for, timed,
)
from bench.records import CorpusResult, Figure, Samples, Target
from bench.runner import MOSSEN, IndexRoots, mossen, run_timed
from bench.serving import measure_search
from bench.synthetic import commit_repo, default_sources, generate
from bench.tokens import embedded_token_lengths

FULL_LINES, FULL_FILES = 1_000_000, 10_000
REPS = Reps(startup=5, noop=5, edit=5, search=14, refresh=0, in_process=14)
MIB_PER_KIB = 1 / 1024
RENAMED = re.compile(r"[A-Za-z_]\w*_s\d{5}")  # a module-level name the generator gave its file's suffix
READY = "lexical + symbol search ready from a cold start"
BENCH_MD = Path(__file__).resolve().parent.parent / "BENCH.md"  # the foundation benchmark's results

QUERIES = (
    "parse the HTTP response status line and headers",
    "extract the members of a tar archive",
    "decode a JSON string with escape sequences",
    "boundary of a multipart email message",
    "compile a select statement to a SQL string",
    "thread pool executor shutdown waits for workers",
    "read the central directory of a zip file",
    "run the asyncio event loop until complete",
    "rounding mode of a decimal context",
    "recycle a pooled connection after a timeout",
    "rotate log files when they grow too large",
    "parse a date string with a strptime format",
    "unit of work flush ordering of dependent rows",
    "read the sections and options of a config file",
)

TARGETS = (
    Target(READY, 60.0),
    Target("dense index wall", 15 * 60.0),
    Target("no-op re-index, fresh process", 0.5),
    Target("one-file re-index, fresh process", 1.0),
    Target("search, warm server, fresh process, p50", 300.0),
    Target("search through the socket (server side), p50", 50.0),
    Target("peak RSS, indexing", 2048.0),
)


def log(message: str) -> None:
    """Progress for the person waiting, on stderr."""
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def build_corpus(work: Path, lines: int, files: int) -> tuple[Corpus, str]:
    """Generate the synthetic repository under `work`; the corpus and a note on how it was made."""
    started = time.perf_counter()
    out = work / "synthetic"
    out.mkdir(parents=True)
    stats = generate(default_sources(sqlalchemy_sdist()), out, lines, files)
    commit = commit_repo(out)
    label = f"synthetic ({stats.lines:,} lines, {stats.files:,} files)"
    note = (f"synthetic repository: Python {platform.python_version()} standard library (no tests) + "
            f"SQLAlchemy {SQLALCHEMY_VERSION} sdist, cut into pieces with per-file renamed names "
            f"(`python -m bench.synthetic OUT --lines {lines} --files {files}`): {stats.files:,} files, "
            f"{stats.lines:,} lines, {stats.renamed_names:,} names renamed, {stats.sources_used:,} sources, "
            f"{stats.pieces_duplicate} duplicate pieces skipped, {stats.reused_files:,} files from a second "
            f"round of the sources; generated and committed in {time.perf_counter() - started:.1f} s, commit "
            f"{commit[:12]}")
    return Corpus("synthetic", label, out, QUERIES), note


def measure_phases(corpus: Corpus, roots: IndexRoots, root: Path) -> tuple[Measured, dict]:
    """From a cold start: `mossen index --lexical-only`, a first search, then `mossen index`, fresh processes.

    Cold means: a fresh index root (no index, no embedding cache, no server)
    and the repository's files dropped from the page cache first.
    """
    env = roots.env(root)
    evicted = pagecache.evict(corpus.path)
    lexical = run_timed([str(MOSSEN), "index", str(corpus.path), "--lexical-only", "--json"], env, sample_memory=True)
    first = json.loads(lexical.stdout)
    symbol, where = pick_symbol(corpus.path, root)
    found = first_search(corpus, env, symbol, where)
    dense = run_timed([str(MOSSEN), "index", str(corpus.path), "--json"], env, sample_memory=True)
    second = json.loads(dense.stdout)
    paths = indexed_paths(corpus.path, root)
    peak = max(lexical.peak_rss_kib, dense.peak_rss_kib) * MIB_PER_KIB
    rss_how = "the larger of `ru_maxrss` (os.wait4) and the sampled sum over the live process tree (bench.memory)"
    figures = [
        Figure("files indexed", len(paths), "count", "files in the catalog"),
        Figure("lines indexed", count_lines(corpus.path, paths), "count", "lines of text in those files"),
        Figure("chunks", first["chunks_total"], "count", "chunks in the catalog"),
        Figure("lexical-only index wall", lexical.seconds, "s",
               "`mossen index PATH --lexical-only`, fresh process, fresh index root, repository out of the page cache"),
        Figure("lexical-only index, in-process", first["lexical_seconds"], "s", "`report.lexical_seconds` of that run"),
        Figure("first search after the lexical-only index", found, "s",
               "`mossen search SYMBOL --json --no-server --no-refresh`, fresh process; the symbol's file must be a hit"),
        Figure(READY, lexical.seconds + found, "s", "lexical-only index wall + that first search"),
        Figure("dense index wall", dense.seconds, "s", "the following `mossen index PATH`: embeds every pending chunk"),
        Figure("dense index, in-process", second["seconds"], "s", "`report.seconds` of that run"),
        Figure("texts embedded", second["embedded"], "count", "`report.embedded` of that run"),
        Figure("peak RSS, lexical-only index", lexical.peak_rss_kib * MIB_PER_KIB, "MiB", rss_how),
        Figure("peak RSS, dense index", dense.peak_rss_kib * MIB_PER_KIB, "MiB", rss_how),
        Figure("peak RSS, indexing", peak, "MiB", "the larger of the two"),
    ]
    notes = [
        f"cold start: before the lexical-only index, the repository's {evicted.files:,} files "
        f"({evicted.bytes / 2**20:.0f} MiB, `.git` included) were flushed and dropped from the page cache "
        "(`posix_fadvise(DONTNEED)`); the interpreter, mossen and its packages may still be cached",
        f"lexical phase: {first['files_seen']} files seen, {len(first['skipped'])} skipped, "
        f"{first['pending']} chunks pending; in-process {first['lexical_seconds']:.1f} s of "
        f"{lexical.seconds:.1f} s wall; first search for the symbol `{symbol}` found `{where}`",
        f"dense phase: {second['embedded']} embedded, {second['embed_cache_hits']} cache hits, "
        f"{second['pending']} left pending; in-process {second['seconds']:.1f} s of {dense.seconds:.1f} s wall",
        f"peak RSS: `ru_maxrss` {lexical.max_rss_kib * MIB_PER_KIB:.0f} / {dense.max_rss_kib * MIB_PER_KIB:.0f} MiB, "
        f"process-tree samples {lexical.tree_rss_kib * MIB_PER_KIB:.0f} / {dense.tree_rss_kib * MIB_PER_KIB:.0f} MiB "
        "(lexical / dense)",
    ]
    return Measured(figures, notes), second


def pick_symbol(repo: Path, root: Path) -> tuple[str, str]:
    """A renamed module-level symbol (e.g. `Parser_s01234`) from the middle of the catalog, and its file."""
    layout = IndexLayout.for_repo(repo.resolve(), settings_for(root))
    with Catalog(layout.catalog) as catalog:
        found = sorted({(row.chunk.symbol, row.chunk.path) for row in catalog.iter_chunk_rows()
                        if row.chunk.symbol and RENAMED.fullmatch(row.chunk.symbol)})
    if not found:
        raise RuntimeError("no renamed module-level symbol in the catalog")
    return found[len(found) // 2]


def first_search(corpus: Corpus, env: dict[str, str], symbol: str, where: str) -> float:
    """Seconds of one fresh-process search for `symbol`; raises unless its file is among the hits.

    Neither server nor refresh: a refresh would embed a few pending chunks and so
    change the dense phase measured next.
    """
    done = mossen(["search", "--path", str(corpus.path), "--json", "--no-server", "--no-refresh", symbol], env)
    hits = [hit["path"] for hit in json.loads(done.stdout)]
    if where not in hits:
        raise RuntimeError(f"the lexical index did not find `{symbol}` in {where}; hits: {hits}")
    return done.seconds


def measure_ceiling(corpus: Corpus, root: Path, env: dict[str, str], dense_wall: float, embedded: int) -> Measured:
    """Tokens embedded and tokens/s, against what a GEMM probe says the machine could do."""
    lengths = embedded_token_lengths(corpus.path, settings_for(root))
    tokens = sum(lengths)
    mean = tokens / max(len(lengths), 1)
    probe = json.loads(run_timed([sys.executable, ceiling.__file__], ceiling.probe_env(env)).stdout)
    limit = probe["square_gflops"] * 1e9 / ceiling.FLOPS_PER_TOKEN
    rate = tokens / dense_wall
    figures = [
        Figure("tokens embedded", tokens, "count", "tokenizer of the model, truncated at 256, over the texts embedded"),
        Figure("mean tokens per text", mean, "tokens", "tokens embedded / distinct texts"),
        Figure("tokens/s", rate, "/s", "tokens embedded / dense index wall"),
        Figure("GEMM probe", probe["square_gflops"], "GFLOP/s",
               f"numpy float32 {ceiling.SQUARE}² matmul, best of {ceiling.REPEATS}, {probe['threads']} threads, "
               "in the same run"),
        Figure("GEMM probe, model shape", probe["model_shape_gflops"], "GFLOP/s",
               f"({ceiling.MODEL_ROWS}×{ceiling.HIDDEN}) @ ({ceiling.HIDDEN}×{ceiling.FFN}), the FFN's shape"),
        Figure("FLOPs per token", ceiling.FLOPS_PER_TOKEN / 1e6, "MFLOP", "all-MiniLM-L6-v2 at its 256-token window"),
        Figure("FLOPs per token at the mean length", ceiling.flops_per_token(mean) / 1e6, "MFLOP",
               "6·(8·384² + 4·384·1536 + 4·L·384), L = mean tokens per text (a cross-check)"),
        Figure("ceiling tokens/s", limit, "/s", "GEMM probe / 24 MFLOP per token"),
        Figure("share of the ceiling", 100 * rate / limit, "%", "tokens/s / ceiling tokens/s"),
    ]
    notes = [f"token count: {len(lengths)} distinct texts in the catalog (by embedding-cache key) "
             f"against {embedded} texts embedded by the dense run",
             f"at full speed of the GEMM probe, these {tokens:,} tokens take {tokens / limit:.0f} s of pure "
             f"model arithmetic; the dense index took {dense_wall:.0f} s (target 900 s at 1M lines)"]
    return Measured(figures, notes)


def measure_grep(corpus: Corpus, index: Bm25Index) -> Measured:
    """`grep -rIl` for each query's rarest term (by document frequency), as a fresh process."""
    seconds, terms = [], []
    for query in corpus.queries:
        known = [t for t in query_terms(query) if t in index.vocabulary]
        if not known:
            continue
        term = min(known, key=lambda t: index.offsets[index.vocabulary[t] + 1] - index.offsets[index.vocabulary[t]])
        cmd = ["grep", "-rIliF", "--exclude-dir=.git", term, str(corpus.path)]
        seconds.append(timed(lambda cmd=cmd: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)))
        terms.append(term)
    wall = Samples(tuple(seconds))
    return Measured([
        Figure("grep -rIl, rarest query term", wall.median * 1000, "ms",
               f"`grep -rIliF --exclude-dir=.git TERM PATH`, fresh process, page cache warm, n={len(wall)}"),
    ], [f"grep terms (rarest per query): {', '.join(terms)}"])


def projected(figures: tuple[Figure, ...], factor: float) -> list[Figure]:
    """The index walls of a scaled-down run, projected to 1,000,000 lines.

    The work inside the run (`report` seconds) is scaled by `factor`; process
    start-up is not. One-time costs inside the run (the model load) are scaled
    too, so the projection errs high. The first search is taken as measured.
    """
    value = {f.name: f.value for f in figures}
    how = f"measured wall + in-process seconds × ({factor:.1f} − 1)"
    lexical = value["lexical-only index wall"] + value["lexical-only index, in-process"] * (factor - 1)
    dense = value["dense index wall"] + value["dense index, in-process"] * (factor - 1)
    return [
        Figure("lexical-only index wall, projected to 1M lines", lexical, "s", how),
        Figure(f"{READY}, projected to 1M lines", lexical + value["first search after the lexical-only index"], "s",
               "the projected lexical wall + the first search as measured"),
        Figure("dense index wall, projected to 1M lines", dense, "s", how),
    ]


def judged(figures: tuple[Figure, ...], lines_indexed: float) -> tuple[tuple[Figure, ...], tuple[Target, ...], list[str]]:
    """The figures and targets to judge, and the text above them.

    A scaled-down run judges its index walls projected to 1,000,000 lines (both
    phases are linear in the chunks); every other figure as measured.
    """
    text = [
        "Each target is set for a repository of 1,000,000 lines in 10,000 files on 2 cores: lexical and",
        "symbol search within a minute of a cold start, the dense index within 15 minutes, changes and",
        "searches in well under a second (each `mossen` command a fresh process; the search target is",
        "judged with the warm search server running, as `mossen search` starts one on demand), indexing",
        "within 2 GiB of memory.",
        "",
        f"Embedding backend: {embedding_backend()}.",
    ]
    if lines_indexed >= 0.9 * FULL_LINES:
        return figures, TARGETS, text
    factor = FULL_LINES / max(lines_indexed, 1)
    extra = {f.name.removesuffix(", projected to 1M lines"): f for f in projected(figures, factor)}
    targets = tuple(Target(extra[t.figure].name, t.limit) if t.figure in extra else t for t in TARGETS)
    return (*figures, *extra.values()), targets, [*text, "",
        f"**Scaled-down run** ({lines_indexed:,.0f} lines): the index walls are judged as projected to",
        f"1,000,000 lines (in-process work ×{factor:.1f}, start-up once); every other figure as measured at",
        "this size, so their verdicts say little about the full size."]


def embedding_backend() -> str:
    """The backend that embedded: the settings' default (the benchmark passes no config), if it has one."""
    backend = getattr(IndexSettings(), "embed_backend", None)
    light = f"runs of at most {IndexSettings().light_embed_limit} new texts (a one-file edit) use the numpy light model"
    if backend is None:
        return f"torch (sentence-transformers) for bulk embedding; {light}"
    text = f"`{backend}` (IndexSettings.embed_backend, its default: the benchmark passes no config)"
    if "int8" in backend:
        return f"{text}; int8 arithmetic can go past the float32 GEMM ceiling below"
    return f"{text}; {light}"


def main(argv: list[str] | None = None) -> int:
    """Generate the repository, measure every family, print the verdicts, write BENCH-SCALE.md if asked."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--code", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--command", default="")
    parser.add_argument("--lines", type=int, default=FULL_LINES)
    parser.add_argument("--files", type=int, default=FULL_FILES)
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]  # others' jobs on a shared machine show up in every figure
    log(f"generating {args.lines:,} lines in {args.files:,} files")
    corpus, corpus_note = build_corpus(args.work, args.lines, args.files)
    roots = IndexRoots(args.work / "roots", args.code)
    root = roots.fresh("scale")
    log("cold start: lexical-only index, a first search, then the dense index (fresh processes)")
    phases, dense_report = measure_phases(corpus, roots, root)
    dense_wall = next(f.value for f in phases.figures if f.name == "dense index wall")
    log("tokens embedded and the GEMM ceiling")
    throughput = measure_ceiling(corpus, root, roots.env(root), dense_wall, dense_report["embedded"])
    paths = indexed_paths(corpus.path, root)
    log("no-op re-index")
    noop = measure_noop(corpus, roots, root, REPS)
    log("search: without a server, then through a warm server")
    searched = measure_search(corpus, roots, root, args.work / "serve.log")
    log("one-file change")
    edit = measure_one_file_edit(corpus, roots, root, paths, REPS)
    log("BM25 baseline and grep")
    bm25 = build_bm25(corpus, paths)
    families = (phases, throughput, noop, edit, searched, measure_bm25(corpus, paths, REPS, bm25),
                measure_grep(corpus, bm25[0]))
    measured = tuple(f for family in families for f in family.figures)
    lines_indexed = next(f.value for f in measured if f.name == "lines indexed")
    figures, targets, preamble = judged(measured, lines_indexed)
    notes = (corpus_note, *(n for family in families for n in family.notes), f"queries: {'; '.join(QUERIES)}",
             "the foundation benchmark's real corpus (SQLAlchemy, ~325k lines) has its figures in "
             "[BENCH.md](BENCH.md)",
             f"load average (1 min): {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    result = CorpusResult(corpus.label, figures, notes)
    print("\n".join([*preamble, "", report.target_table(figures, targets), "", report.table([result])]))
    if args.output:
        args.output.write_text(report.scale_markdown(result, targets, args.command, args.commit, preamble,
                                                     report.quoted_bench(BENCH_MD)))
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
