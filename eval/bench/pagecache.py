"""Dropping a folder's files from the operating system's page cache, so a "cold start" reads the disk.

A repository generated a moment ago sits in memory; a user's first index of
it would not. `posix_fadvise(DONTNEED)` asks the kernel to drop the clean
cached pages of each file: no root needed, and nothing outside the folder is
touched (unlike writing to /proc/sys/vm/drop_caches, which empties the cache
of everyone on the machine). Dirty pages cannot be dropped, so the data is
flushed first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Eviction:
    """What `evict` asked the kernel to drop."""

    files: int
    bytes: int


def evict(folder: Path) -> Eviction:
    """Flush and drop every regular file under `folder` (`.git` included) from the page cache."""
    os.sync()
    files = total = 0
    for path in _files(folder):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            total += os.fstat(fd).st_size
            files += 1
        finally:
            os.close(fd)
    return Eviction(files, total)


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, _, names in os.walk(folder):
        found.extend(Path(root) / name for name in names)
    return [p for p in found if p.is_file() and not p.is_symlink()]
