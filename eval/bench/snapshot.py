"""A frozen copy of the checkout, so that edits others make while the benchmark runs change nothing.

The benchmark takes tens of minutes; every process it measures imports mossen
from this copy, never from the live working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def snapshot_repo(repo: Path, dest: Path) -> Path:
    """Copy the files git lists in `repo` (tracked + untracked, not ignored) to `dest`."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=repo, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = repo / rel
        if not os.path.lexists(source):
            continue  # deleted in the work tree but still in git's index
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / rel, follow_symlinks=False)
    return dest


def describe_commit(repo: Path) -> str:
    """The short HEAD commit, with "+dirty" when the work tree has changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
