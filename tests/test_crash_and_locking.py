"""kill -9 at random moments of real `mossen index` runs, then repair; and two indexers at once.

Every kill point is followed by an uninterrupted `mossen index`, after which the
index must be exactly consistent: one vector per chunk, no orphans, manifest
equal to the working tree, search finding what is there and nothing that is not.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from indexer import IndexSettings, SearchOptions, search
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout
from indexer.verify import verify_index
from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

TEMPLATE = '''"""Module {n}: helpers for the {topic} subsystem."""


class {cls}:
    """State of one {topic} worker."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[int] = []

    def add_{topic}_item(self, value: int) -> bool:
        """Add a value unless the {topic} limit is reached."""
        if len(self.items) >= self.limit:
            return False
        self.items.append(value * {n})
        return True


def compute_{topic}_{n}(values: list[int]) -> int:
    """Sum of squares for {topic} batch {n}."""
    return sum(v * v for v in values) + {n}
'''

TOPICS = ["cache", "retry", "parser", "router", "session", "pool", "auth", "queue", "codec", "shard"]


def module(n: int, salt: str = "") -> str:
    topic = TOPICS[n % len(TOPICS)]
    return TEMPLATE.format(n=n, topic=topic, cls=f"{topic.title()}Worker{n}") + salt


def _settings(mossen: Mossen) -> IndexSettings:
    return IndexSettings(index_root=mossen.index_root)


def _kill_during(mossen: Mossen, repo: Path, delay: float, *args: str) -> bool:
    """Start `mossen index`, SIGKILL its process group after `delay` s; True if it was still running."""
    proc = mossen.popen("index", str(repo), *args)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return alive


def _catalog_files(mossen: Mossen, repo: Path) -> int:
    layout = IndexLayout.for_repo(repo.resolve(), _settings(mossen))
    if not layout.exists:
        return 0
    with Catalog(layout.catalog) as catalog:
        return catalog.counts()[0]


def test_kill_at_random_points_then_repair(tmp_path: Path, mossen: Mossen) -> None:
    files = {f"pkg/mod_{n:03d}.py": module(n) for n in range(240)}
    repo = make_repo(tmp_path / "repo", files)
    warm = mossen.run("index", str(repo))  # fills the shared embedding cache
    assert warm.returncode == 0, warm.stderr
    started = time.monotonic()
    assert mossen.run("index", str(repo), "--rebuild").returncode == 0
    run_time = time.monotonic() - started  # how long a kill window is
    rng = random.Random(20261125)
    interrupted_mid_write = 0
    for point in range(12):
        mode = point % 3
        if mode == 0:  # rebuild from scratch: catalog and vectors rewritten from the cache
            args: tuple[str, ...] = ("--rebuild",)
        else:  # edits, deletions and additions: some new text to embed
            args = ()
            for n in rng.sample(range(240), 12):
                path = repo / f"pkg/mod_{n:03d}.py"
                if path.exists():
                    path.write_text(module(n, salt=f"\n\nEDIT_{point}_{n} = {point}\n"))
            for n in rng.sample(range(240), 3):
                (repo / f"pkg/mod_{n:03d}.py").unlink(missing_ok=True)
            (repo / f"pkg/new_{point}.py").write_text(module(1000 + point))
        before = _catalog_files(mossen, repo)
        alive = _kill_during(mossen, repo, rng.uniform(0.1, run_time), *args)
        after = _catalog_files(mossen, repo)
        interrupted_mid_write += alive and after != before
        repair = mossen.run("index", str(repo))
        assert repair.returncode == 0, f"kill point {point}: {repair.stderr}"
        assert verify_index(repo, _settings(mossen)) == [], f"kill point {point}"
    # The test is only worth something if kills landed while the index was being written.
    assert interrupted_mid_write >= 3
    hits = search(repo, "EDIT_11", _settings(mossen), SearchOptions(top_k=50))
    edited = {p.name for p in (repo / "pkg").glob("*.py") if "EDIT_11" in p.read_text()}
    assert edited and edited <= {Path(h.path).name for h in hits}


def test_second_indexer_gives_up_naming_the_holder(tmp_path: Path, mossen: Mossen) -> None:
    repo = make_repo(tmp_path / "repo", {f"m{n}.py": module(n) for n in range(150)})
    first = mossen.popen("index", str(repo))
    layout = IndexLayout.for_repo(repo.resolve(), _settings(mossen))
    deadline = time.monotonic() + 60
    while not (layout.folder / "lock").exists() or (layout.folder / "lock").stat().st_size == 0:
        assert time.monotonic() < deadline and first.poll() is None, "the first indexer never took the lock"
        time.sleep(0.05)
    second = mossen.run("index", str(repo), MOSSEN_INDEX_LOCK_TIMEOUT="0.5")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert second.returncode == 3
    assert f"pid {first.pid}" in second.stderr and "in use" in second.stderr
    assert verify_index(repo, _settings(mossen)) == []


def test_second_indexer_waits_then_succeeds(tmp_path: Path, mossen: Mossen) -> None:
    repo = make_repo(tmp_path / "repo", {f"m{n}.py": module(n) for n in range(40)})
    first = mossen.popen("index", str(repo))
    layout = IndexLayout.for_repo(repo.resolve(), _settings(mossen))
    deadline = time.monotonic() + 60
    # Started only once the first holds the lock: else the second may win it and, on a loaded
    # machine, hold it past the first's default wait, and the first would (rightly) give up.
    while not (layout.folder / "lock").exists() or (layout.folder / "lock").stat().st_size == 0:
        assert time.monotonic() < deadline and first.poll() is None, "the first indexer never took the lock"
        time.sleep(0.05)
    second = mossen.popen("index", str(repo), MOSSEN_INDEX_LOCK_TIMEOUT="300")
    assert first.wait(timeout=600) == 0
    assert second.wait(timeout=600) == 0
    assert verify_index(repo, _settings(mossen)) == []
