"""Has a git work tree changed since the last look? Cheap enough to ask before every search.

The warm search server refreshes the index before each search; on a large
repository that refresh (list every file, stat it, compare with the catalog)
costs far more than the search itself. Git already keeps the stat data of every
tracked file: `git ls-files -m -d -o` lists what differs from it, in C. The
fingerprint is that list with each entry's size and mtime, plus the stat of
git's own index file and HEAD (commits, checkouts, `git add`). While it stays
the same, nothing a refresh could see has changed. Outside git (or when git
fails) there is no fingerprint, and every search refreshes.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GIT_TIMEOUT = 10.0
Fingerprint = tuple[object, ...]


@dataclass(slots=True)
class ChangeProbe:
    """Fingerprints of one work tree; `seen` records the one a successful refresh covered."""

    repo: Path
    _git_files: tuple[Path, ...] | None = field(default=None, init=False)
    _seen: Fingerprint | None = field(default=None, init=False)

    def look(self) -> Fingerprint | None:
        """The work tree's fingerprint now, or None when git cannot give one."""
        if self._git_files is None:
            paths = _git(self.repo, "rev-parse", "--path-format=absolute", "--git-path", "index", "--git-path", "HEAD")
            if paths is None:
                return None
            self._git_files = tuple(Path(p) for p in paths.decode().split("\n") if p)
        listed = _git(self.repo, "ls-files", "-z", "-m", "-d", "-o", "--exclude-standard")
        if listed is None:
            return None
        names = sorted(set(listed.split(b"\0")) - {b""})
        return (*(_stat(p) for p in self._git_files), *((n, _stat(self.repo / os.fsdecode(n))) for n in names))

    def changed_since_seen(self, fingerprint: Fingerprint | None) -> bool:
        """True unless `fingerprint` equals the one of the last successful refresh."""
        return fingerprint is None or fingerprint != self._seen

    def seen(self, fingerprint: Fingerprint | None) -> None:
        """A refresh covering the work tree as of `fingerprint` succeeded."""
        self._seen = fingerprint


def _git(repo: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, timeout=GIT_TIMEOUT, check=False,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino
