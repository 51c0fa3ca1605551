"""Speed benchmark of mossen's indexing and search; prints a table and writes eval/BENCH.md.

    .venv/bin/python eval/bench_index.py [--corpus sqlalchemy|self|all] [--quick] [--no-write] [--profile]

Corpora: SQLAlchemy's source distribution (pinned, downloaded once from PyPI
into a cache folder, unpacked afresh per run) and this repository. The
checkout is first copied to a snapshot, and everything measured imports mossen
from it (`bench/suite.py` runs with the snapshot on PYTHONPATH), so edits made
while the benchmark runs cannot mix two versions of the code. Every measurement
family runs on its own throw-away index root, so nothing touches the user's
data folder; edits go to copies, never to the repository itself. Nothing here
asserts a time: it measures and reports.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.options import user_flags
from bench.snapshot import describe_commit, snapshot_repo

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent


def main(argv: list[str]) -> int:
    """Snapshot the checkout, run the suite against the snapshot, return its exit code."""
    args = user_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0])).parse_args(argv)
    commit = describe_commit(REPO_ROOT)
    with tempfile.TemporaryDirectory(prefix="mossen-bench-") as tmp:
        work = Path(tmp)
        code = snapshot_repo(REPO_ROOT, work / "code")
        suite = [sys.executable, "-m", "bench.suite", *argv, "--work", str(work), "--code", str(code),
                 "--commit", commit, "--command", shlex.join([".venv/bin/python", "eval/bench_index.py", *argv])]
        if not args.no_write:
            suite += ["--output", str(EVAL_DIR / "BENCH.md")]
        # The snapshot first: `indexer` and `mossen` come from it; `bench` from this folder.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), str(EVAL_DIR)])}
        return subprocess.run(suite, env=env, cwd=code).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
