"""One writer per index: an flock on a file, released by the OS if the holder dies."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from indexer.errors import IndexLockedError


class IndexLock:
    """Exclusive lock on `<index_dir>/<name>`; the file records who holds it."""

    def __init__(self, index_dir: Path, timeout: float, name: str = "lock") -> None:
        self._path = index_dir / name
        self._timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait up to `timeout` seconds, then raise IndexLockedError naming the holder."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _describe(self._path)
                    os.close(fd)
                    raise IndexLockedError(
                        f"the index is in use by {holder}; waited {self._timeout:.0f} s. "
                        "Try again when it finishes.", holder,
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:200],
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }).encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "IndexLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(path: Path) -> str:
    """A human description of the holder recorded in the lock file."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not info:
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} ({info.get('command')}, since {info.get('since')})"
