"""The warm search server: one per repository index, so a search costs milliseconds, not seconds.

A fresh `mossen search` pays for importing the search stack, opening Chroma and
loading the query model; the server pays once and answers over a Unix socket
(mode 0600, in a 0700 folder of the user's). `mossen search` starts one on
demand and uses it from then on; it stops after `idle` seconds without a
request. Requests are served one at a time: each refreshes changed files first
(unless told not to; in a git work tree only when `git ls-files -m -d -o`
shows a change since the last refresh, see mossen.change_probe) and searches
the index as it is on disk, including what other processes committed.

Wire: one JSON object per line each way (mossen.search_wire).
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import time
from pathlib import Path

from indexer import IndexSettings, Searcher
from mossen.change_probe import ChangeProbe
from mossen.search_client import socket_path
from mossen.search_service import answer
from mossen.search_wire import SearchRequest

MAX_REQUEST = 64 * 1024


def serve(repo: Path, settings: IndexSettings, idle: float) -> None:
    """Answer searches for `repo` until `idle` seconds pass without one (or the socket is taken)."""
    path = socket_path(settings.index_dir(repo))
    listener = _listen(path)
    if listener is None:
        return  # another server of this index is already answering
    try:
        with Searcher(repo, settings) as searcher:
            _loop(listener, searcher, repo, settings, idle, ChangeProbe(repo))
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def _listen(path: Path) -> socket.socket | None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        try:  # a live server answers; a dead one left its socket file behind
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(str(path))
            return None
        except OSError:
            path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError:
        listener.close()
        return None
    finally:
        os.umask(old)
    listener.listen(8)
    return listener


def _loop(listener: socket.socket, searcher: Searcher, repo: Path, settings: IndexSettings, idle: float,
          probe: ChangeProbe) -> None:
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    last = time.monotonic()
    while time.monotonic() - last < idle:
        if not selector.select(timeout=min(5.0, idle)):
            if not searcher.layout.catalog.exists():
                return  # the index was deleted: nothing left to serve
            continue
        connection, _ = listener.accept()
        with connection:
            _handle(connection, searcher, repo, settings, probe)
        last = time.monotonic()


def _handle(connection: socket.socket, searcher: Searcher, repo: Path, settings: IndexSettings,
            probe: ChangeProbe) -> None:
    connection.settimeout(10.0)
    data = b""
    try:
        while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
            piece = connection.recv(65536)
            if not piece:
                break
            data += piece
        request = SearchRequest.from_wire(json.loads(data))
        reply = answer(searcher, repo, settings, request, probe).to_wire()
    except Exception as exc:  # a bad request or a failed search must not take the server down
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        connection.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass  # the client gave up
