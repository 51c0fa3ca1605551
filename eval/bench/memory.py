"""Memory of a whole process tree, sampled from /proc while it runs.

`ru_maxrss` from `os.wait4` is the peak of the largest single process among a
child and the descendants it reaped: two processes alive at once count as the
larger of the two, not their sum. The sampler sums the resident memory of the
process and every live descendant, a few times a second, so a tree that
spreads its work over processes is counted whole. It can miss a peak shorter
than its interval; the benchmark reports the larger of the two figures.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4
INTERVAL = 0.2  # seconds between samples


class TreeRssSampler:
    """Samples the summed RSS of `pid` and its descendants in a thread, from `start()` until `stop()`."""

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def start(self) -> "TreeRssSampler":
        """Begin sampling; returns self."""
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop sampling; the peak seen, in KiB (0 where there is no /proc)."""
        self._done.set()
        self._thread.join()
        return self.peak_kib

    def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))
            if self._done.wait(self.interval):
                return


def tree_rss_kib(pid: int) -> int:
    """Resident memory of `pid` plus every live descendant, in KiB (0 for a process that is gone)."""
    children: dict[int, list[int]] = {}
    for entry in _proc_entries():
        parent = _parent(entry)
        if parent is not None:
            children.setdefault(parent, []).append(entry)
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += _rss_kib(current)
        pending.extend(children.get(current, ()))
    return total


def _proc_entries() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone meanwhile
    # The command name (field 2) may hold spaces and parentheses: parse after its last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0
