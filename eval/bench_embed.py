"""Embedding backends side by side: throughput, query start-up, and retrieval quality.

    .venv/bin/python eval/bench_embed.py [--threads 2] [--chunks 256]        # speed
    .venv/bin/python eval/bench_embed.py --quality FP32.json INT8.json [FP32b.json INT8b.json ...]

Speed: this repository's Python files cut into 40-line pieces (what a chunk
roughly is; the embedders truncate at 256 tokens), embedded by torch
(sentence-transformers), ONNX fp32 and ONNX int8 on `--threads` threads, best of
two timed passes after a warm-up; chunks/s and tokens/s (tokens after
truncation). Start-up of the int8 query path (import onnxruntime, open the
session, embed one query) is timed in fresh processes.

Quality: pairs of JSON outputs of `eval/run_all.py --no-write --only ...` (fp32,
then `--backend onnx-int8`, same suites), compared per suite and pooled within each
pair, with paired bootstrap CIs of the int8 - fp32 differences. Each mode prints its figures and rewrites its own
section of eval/BENCH-EMBED.md, leaving the other section as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent
sys.path.insert(1, str(REPO_ROOT))

from indexer.embed.base import bundled_model_path  # noqa: E402
from indexer.settings import default_index_root  # noqa: E402

REPORT = EVAL_DIR / "BENCH-EMBED.md"
SECTIONS = ("## Throughput", "## Quality")
ALL = "**all suites above, pooled**"
WINDOW = 256


def code_pieces(count: int) -> list[str]:
    """`count` 40-line pieces of this repository's Python files, in a fixed order."""
    pieces: list[str] = []
    for folder in ("indexer", "mossen", "eval", "tests"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            pieces += ["\n".join(lines[i:i + 40]) for i in range(0, len(lines), 40) if any(lines[i:i + 40])]
    step = max(1, len(pieces) // count)  # spread over the whole repository, not its first files
    return pieces[::step][:count]


def token_count(texts: Sequence[str]) -> int:
    """Tokens the model reads: WordPiece ids with specials, truncated at the window."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(WINDOW)
    return sum(len(e.ids) for e in tokenizer.encode_batch(list(texts)))


def timed(embed: Callable[[list[str]], object], texts: list[str]) -> float:
    """Best of two passes, after a warm-up on a few texts."""
    embed(texts[:8])
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        embed(texts)
        best = min(best, time.perf_counter() - started)
    return best


def backends(threads: int, models: Path) -> dict[str, Callable[[], Callable[[list[str]], object]]]:
    """Name -> loader of an embed function, each on `threads` threads."""
    def torch_st() -> Callable[[list[str]], object]:
        import torch

        from indexer.embed.sentence_transformer import SentenceTransformerEmbedder

        torch.set_num_threads(threads)
        return SentenceTransformerEmbedder(bundled_model_path(), WINDOW, 32).embed

    def onnx(variant: str, batch: int) -> Callable[[], Callable[[list[str]], object]]:
        def load() -> Callable[[list[str]], object]:
            from indexer.embed.onnx_export import onnx_model_file
            from indexer.embed.onnx_minilm import OnnxMiniLM

            path = onnx_model_file(bundled_model_path(), models, variant)  # type: ignore[arg-type]
            return OnnxMiniLM(path, bundled_model_path() / "tokenizer.json", variant, WINDOW, batch, threads).embed
        return load

    return {"torch (sentence-transformers, batch 32)": torch_st,
            "onnx fp32 (batch 32 = index.batch_size, as shipped)": onnx("fp32", 32),
            "onnx fp32 (batch 1)": onnx("fp32", 1),
            "onnx int8 (batch 32)": onnx("int8", 32), "onnx int8 (batch 1, as shipped)": onnx("int8", 1)}


STARTUP = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from indexer.embed.base import bundled_model_path
from indexer.embed.onnx_export import onnx_model_file
t1 = time.perf_counter()
import onnxruntime
t2 = time.perf_counter()
from indexer.embed.onnx_minilm import load_onnx_minilm
embedder = load_onnx_minilm(bundled_model_path(), Path(sys.argv[1]), "int8", threads=int(sys.argv[2]))
t3 = time.perf_counter()
embedder.embed(["where are retries configured"])
t4 = time.perf_counter()
print(t2 - t1, t3 - t2, t4 - t3, "torch" in sys.modules)
"""


def startup(models: Path, threads: int, runs: int = 3) -> list[tuple[float, float, float, bool]]:
    """(import onnxruntime, open the session, embed one query, torch imported) in fresh processes."""
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", STARTUP, str(models), str(threads)], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True)
        a, b, c, d = done.stdout.split()
        out.append((float(a), float(b), float(c), d == "True"))
    return out


def speed(args: argparse.Namespace) -> list[str]:
    """The throughput section."""
    texts = code_pieces(args.chunks)
    tokens = token_count(texts)
    lines = [SECTIONS[0], "",
             f"{len(texts)} pieces of 40 lines from this repository's Python files ({tokens} tokens after "
             f"truncation at {WINDOW}, {tokens / len(texts):.0f} per piece), {args.threads} threads, best of two "
             f"passes. {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; load average before: {os.getloadavg()[0]:.1f} "
             "(the machine is shared: compare rows with each other, not with other runs).", "",
             "| backend | chunks/s | tokens/s | vs torch |", "|---|---|---|---|"]
    base = None
    for name, load in backends(args.threads, args.models).items():
        seconds = timed(load(), texts)
        base = base or seconds
        row = f"| {name} | {len(texts) / seconds:.1f} | {tokens / seconds:.0f} | {base / seconds:.2f}x |"
        print(row, flush=True)
        lines.append(row)
    runs = startup(args.models, args.threads)
    best = min(runs, key=lambda r: sum(r[:3]))
    lines += ["", f"int8 query path start-up in a fresh process (best of {len(runs)}): import onnxruntime "
              f"{best[0] * 1000:.0f} ms, open the session {best[1] * 1000:.0f} ms, first query "
              f"{best[2] * 1000:.0f} ms; torch imported: {'yes' if any(r[3] for r in runs) else 'no'}. All runs: "
              + "; ".join(f"{a * 1000:.0f}+{b * 1000:.0f}+{c * 1000:.0f} ms" for a, b, c, _ in runs) + ".", ""]
    print("\n".join(lines[-2:]))
    return lines


def quality(pairs: Sequence[tuple[Path, Path]]) -> list[str]:
    """The quality section: hybrid and dense, per suite and pooled per pair, fp32 vs int8."""
    lines = [SECTIONS[1], "",
             "`eval/run_all.py --no-write --only ...` on the fp32 indexes (torch) and with `--backend onnx-int8` "
             "(own indexes), the same queries; file level, mean [95% bootstrap CI]; the last column is the paired "
             "bootstrap CI of the per-query MRR difference int8 - fp32.", "",
             "| suite | strategy | N | fp32 Hit@5 | int8 Hit@5 | fp32 R@5 | int8 R@5 | fp32 MRR | int8 MRR | "
             "MRR int8 - fp32 |", "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts: list[tuple[str, bool, bool]] = []  # row, int8 means inside fp32 CIs, paired MRR CI below zero
    everything: dict[str, tuple[list[dict], list[dict]]] = {}
    for fp32_json, int8_json in pairs:
        fp32, int8 = (json.loads(p.read_text()) for p in (fp32_json, int8_json))
        pooled: dict[str, tuple[list[dict], list[dict]]] = {}
        for a, b in zip(fp32, int8, strict=True):
            assert a["name"] == b["name"], (a["name"], b["name"])
            for strategy in ("hybrid", "dense"):
                qa, qb = _per_query(a, strategy), _per_query(b, strategy)
                rows_a, rows_b = [qa[i] for i in sorted(qa)], [qb[i] for i in sorted(qa)]
                for group in (pooled, everything):
                    group.setdefault(strategy, ([], []))[0].extend(rows_a)
                    group[strategy][1].extend(rows_b)
                lines.append(_row(a["name"], strategy, rows_a, rows_b, verdicts))
        if len(fp32) > 1:
            names = " + ".join(dict.fromkeys(r["name"].split(" ")[0] for r in fp32))
            for strategy, (rows_a, rows_b) in pooled.items():
                lines.append(_row(f"**pooled** ({names})", strategy, rows_a, rows_b, verdicts))
    if len(pairs) > 1:
        for strategy, (rows_a, rows_b) in everything.items():
            lines.append(_row(ALL, strategy, rows_a, rows_b, verdicts))
    inside = sum(v[1] for v in verdicts)
    below = [v[0] for v in verdicts if v[2]]
    overall = next((v for v in reversed(verdicts) if v[0].startswith(f"{ALL} hybrid")), None)
    met = inside == len(verdicts) and overall is not None and not overall[2]
    lines += ["", f"int8 Hit@5, R@5 and MRR inside the fp32 95% CI: {inside} of {len(verdicts)} rows (all three "
              f"figures). Rows whose paired MRR difference CI lies below zero: {', '.join(below) or 'none'}.", "",
              "The rule (issue 7: int8 only with no loss beyond the confidence intervals), read as: every int8 "
              "figure inside fp32's CI, and the hybrid paired MRR difference pooled over all queries not below "
              "zero. Single suites are not each a veto: with this many paired CIs some fall on either side by "
              "chance, and int8 reshuffles close ranks both ways (some suites gain, some lose). "
              + ("Met: int8 may be the default." if met else "Not met: int8 stays opt-in."), ""]
    print("\n".join(lines))
    return lines


def _per_query(suite: dict, strategy: str) -> dict[str, dict[str, float]]:
    from mossen.evaluation.metrics import scores

    return {q["id"]: scores(tuple(q["file_ranks"])) for q in suite["strategies"][strategy]["queries"]}


def _row(name: str, strategy: str, a: list[dict], b: list[dict], verdicts: list[tuple[str, bool, bool]]) -> str:
    from mossen.evaluation.metrics import bootstrap, paired

    cells, inside = [], True
    for metric in ("hit@5", "r@5", "mrr"):
        ea, eb = bootstrap([r[metric] for r in a]), bootstrap([r[metric] for r in b])
        inside &= ea.low <= eb.mean <= ea.high
        cells += [f"{e.mean:.3f} [{e.low:.3f}, {e.high:.3f}]" for e in (ea, eb)]
    diff = paired([r["mrr"] for r in b], [r["mrr"] for r in a])
    verdicts.append((f"{name} {strategy}", inside, diff.high < 0))
    return (f"| {name} | {strategy} | {len(a)} | {' | '.join(cells)} | "
            f"{diff.diff:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}] |")


def write_section(lines: list[str]) -> None:
    """Replace this section of BENCH-EMBED.md, keep the other."""
    head = ["# Embedding backends", "", "Written by `eval/bench_embed.py` (see its docstring). Do not edit by hand.", ""]
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    sections = {}
    for title in SECTIONS:
        if title in old:
            body = old.split(title, 1)[1]
            nxt = min((body.find(t) for t in SECTIONS if t in body), default=-1)
            sections[title] = title + (body[:nxt] if nxt >= 0 else body)
    sections[lines[0]] = "\n".join(lines) + "\n"
    text = "\n".join(head) + "\n" + "\n".join(sections[t].strip("\n") + "\n" for t in SECTIONS if t in sections)
    REPORT.write_text(text, encoding="utf-8")
    print(f"wrote {REPORT.relative_to(REPO_ROOT)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--models", type=Path, default=default_index_root() / "models",
                        help="where the ONNX exports are kept (default: the default index root's)")
    parser.add_argument("--quality", nargs="+", type=Path, metavar="JSON",
                        help="pairs of run_all JSON outputs: fp32 then int8, same suites")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.quality and len(args.quality) % 2:
        parser.error("--quality takes pairs: FP32_JSON INT8_JSON ...")
    pairs = list(zip(args.quality[::2], args.quality[1::2])) if args.quality else []
    write_section(quality(pairs) if pairs else speed(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
