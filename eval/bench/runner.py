"""Running mossen as a fresh process, timed, against a throw-away index root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.memory import TreeRssSampler

MOSSEN = Path(sys.executable).parent / "mossen"
CHILD_INDEX = Path(__file__).resolve().parent / "child_index.py"


class IndexRoots:
    """Fresh index roots under one folder: a new one, or a copy of an earlier one, per family.

    `code` is the snapshot of the checkout that every subprocess imports mossen from.
    """

    def __init__(self, folder: Path, code: Path) -> None:
        self.folder, self.code = folder, code
        # An empty config home: the user's config must not change what is measured.
        self.config_home = folder / "config-home"
        self.config_home.mkdir(parents=True, exist_ok=True)

    def fresh(self, name: str) -> Path:
        """A new, empty index root."""
        root = self.folder / name
        root.mkdir(parents=True)
        return root

    def copy(self, source: Path, name: str) -> Path:
        """A copy of an existing root (same repo path, so the index is found as is)."""
        root = self.folder / name
        shutil.copytree(source, root)
        return root

    def env(self, root: Path) -> dict[str, str]:
        """The environment for a mossen subprocess using `root`, no other MOSSEN_* setting."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOSSEN_")}
        env.update(MOSSEN_INDEX_DIR=str(root), XDG_CONFIG_HOME=str(self.config_home))
        env["PYTHONPATH"] = str(self.code)  # the snapshot, not the live tree nor the editable install
        return env


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished subprocess: its wall time, what it printed, and its memory peak."""

    seconds: float
    stdout: str
    max_rss_kib: int = 0  # ru_maxrss: the largest single process among the child and those it reaped
    tree_rss_kib: int = 0  # the sampled peak of the child's whole live process tree (0 if not sampled)

    @property
    def peak_rss_kib(self) -> int:
        """The larger of the two memory figures."""
        return max(self.max_rss_kib, self.tree_rss_kib)


def run_timed(cmd: list[str], env: dict[str, str], sample_memory: bool = False) -> Completed:
    """Run a command to completion and time it; a failure raises with its stderr.

    Output goes to temporary files and the child is reaped with `os.wait4`, which
    returns that one child's resource usage: RUSAGE_CHILDREN would give the peak
    of every child so far. With `sample_memory`, the RSS of the child's whole
    process tree is also sampled while it runs (bench.memory), which counts
    descendants alive at the same time as a sum.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=env["PYTHONPATH"])
        sampler = TreeRssSampler(proc.pid).start() if sample_memory else None
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        tree_kib = sampler.stop() if sampler else 0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-4000:]}")
    return Completed(seconds, stdout, usage.ru_maxrss, tree_kib)


def mossen(args: list[str], env: dict[str, str]) -> Completed:
    """`.venv/bin/mossen ARGS` as a fresh process."""
    return run_timed([str(MOSSEN), *args], env)


def mossen_index_json(repo: Path, env: dict[str, str]) -> tuple[float, dict]:
    """`mossen index REPO --json` as a fresh process: wall seconds and the run's report."""
    done = mossen(["index", str(repo), "--json"], env)
    return done.seconds, json.loads(done.stdout)


@dataclass(frozen=True, slots=True)
class FullIndexRun:
    """A full index built by a child process, with its time split and memory peak."""

    report: dict  # IndexReport as a dict
    wall: float  # index_repo() wall in the child
    process_wall: float  # the child process, start-up and imports included
    phases: dict[str, float]  # seconds inside the instrumented steps
    max_rss_kib: int


def full_index(repo: Path, root: Path, env: dict[str, str]) -> FullIndexRun:
    """Index `repo` from scratch into `root` in a child process (`child_index.py`)."""
    done = run_timed([sys.executable, str(CHILD_INDEX), str(repo), str(root)], env)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return FullIndexRun(data["report"], data["wall"], done.seconds, data["phases"], data["max_rss_kib"])
