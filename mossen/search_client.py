"""Talking to the warm search server from the CLI, without importing the search stack.

`ask` returns None whenever the server cannot answer (none running, a stale
socket, a timeout, an error): the caller then searches in-process. `start`
launches one in the background for the next search.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from mossen.search_wire import SearchAnswer, SearchRequest

TIMEOUT = 30.0  # a refresh that re-indexes a few files fits well inside


def socket_path(index_folder: Path) -> Path:
    """Where the server of one index listens: short (Unix sockets cap paths near 100 bytes), per user."""
    digest = hashlib.sha256(str(index_folder.resolve()).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"mossen-{os.getuid()}" / f"{digest}.sock"


def ask(index_folder: Path, request: SearchRequest) -> SearchAnswer | None:
    """The server's answer, or None when no server could give one."""
    path = socket_path(index_folder)
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(TIMEOUT)
            connection.connect(str(path))
            connection.sendall(json.dumps(request.to_wire()).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                piece = connection.recv(1 << 20)
                if not piece:
                    break
                data += piece
        reply = json.loads(data)
    except (OSError, ValueError):
        return None
    if not isinstance(reply, dict) or "error" in reply:
        return None
    return SearchAnswer.from_wire(reply)


def start(repo: Path, index_dir: Path | None, idle: float) -> None:
    """Start a server for `repo` in the background (it exits at once if one is already running)."""
    args = [sys.executable, "-m", "mossen", "serve", str(repo), "--idle", str(idle)]
    if index_dir is not None:
        args += ["--index-dir", str(index_dir)]
    subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
