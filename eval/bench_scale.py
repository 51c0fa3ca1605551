"""Scale benchmark: mossen on a synthetic 1,000,000-line repository of real Python; writes eval/BENCH-SCALE.md.

    .venv/bin/python eval/bench_scale.py [--lines N] [--files N] [--no-write]

The repository is generated afresh by `bench/synthetic.py` (the standard
library and the pinned SQLAlchemy sdist, cut into ~100-line files with
per-file names). As in bench_index.py, the checkout is first copied to a
snapshot and everything measured imports mossen from it, every measurement uses
a throw-away index root, and nothing asserts a time: each figure is printed
beside its target. `--lines 20000 --files 200` is a quick run (5-10 minutes;
its index walls are projected to 1M lines). The full run generates the
repository in ~1 minute, then embeds ~96k chunks (~14M tokens): 1 to 1.5 hours
on a quiet 2-core machine, most of it the dense index; ~1 GB of disk under the
temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.snapshot import describe_commit, snapshot_repo

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent
FULL_LINES, FULL_FILES = 1_000_000, 10_000  # as in bench/scale.py, which this launcher must not import


def main(argv: list[str]) -> int:
    """Snapshot the checkout, run the scale suite against the snapshot, return its exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="lines to generate (default 1,000,000)")
    parser.add_argument("--files", type=int, default=FULL_FILES, help="files to generate (default 10,000)")
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave eval/BENCH-SCALE.md alone")
    args = parser.parse_args(argv)
    commit = describe_commit(REPO_ROOT)
    with tempfile.TemporaryDirectory(prefix="mossen-scale-") as tmp:
        work = Path(tmp)
        code = snapshot_repo(REPO_ROOT, work / "code")
        suite = [sys.executable, "-m", "bench.scale", "--work", str(work), "--code", str(code), "--commit", commit,
                 "--lines", str(args.lines), "--files", str(args.files),
                 "--command", shlex.join([".venv/bin/python", "eval/bench_scale.py", *argv])]
        if not args.no_write:
            suite += ["--output", str(EVAL_DIR / "BENCH-SCALE.md")]
        # The snapshot first: `indexer` and `mossen` come from it; `bench` from this folder.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), str(EVAL_DIR)])}
        return subprocess.run(suite, env=env, cwd=code).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
