"""The warm search server: same answers as an in-process search, refreshes, notices rebuilds, stops when idle."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from indexer import IndexSettings
from mossen import search_client
from mossen.search_wire import SearchRequest
from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

FILES = {
    "net/pool.py": 'class ConnectionPool:\n    """Keeps idle sockets for reuse."""\n\n'
                   '    def close_idle(self, max_idle: float) -> int:\n        """Close sockets idle too long."""\n'
                   '        return 0\n',
    "net/retry.py": 'def backoff_delay(attempt: int) -> float:\n    """Exponential backoff, capped."""\n'
                    '    return min(0.5 * 2 ** attempt, 30.0)\n',
    "cli.py": 'def main(argv):\n    """Parse arguments and run the command."""\n    return 0\n',
}
QUERIES = ("close idle sockets", "exponential backoff", "parse arguments", "ConnectionPool")


@pytest.fixture
def repo(tmp_path: Path, mossen: Mossen) -> Path:
    return mossen.index(make_repo(tmp_path / "repo", FILES))


def folder(mossen: Mossen, repo: Path) -> Path:
    return IndexSettings(index_root=mossen.index_root).index_dir(repo.resolve())


@pytest.fixture
def server(repo: Path, mossen: Mossen) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "mossen", "serve", str(repo), "--idle", "120"],
                            env=mossen.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while search_client.ask(folder(mossen, repo), SearchRequest("warm up", refresh=False)) is None:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the server never answered"
        time.sleep(0.2)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def search(mossen: Mossen, repo: Path, query: str, *flags: str, server: bool) -> list[dict]:
    done = mossen.run("search", query, "--path", str(repo), "--json", *flags,
                      MOSSEN_SEARCH_SERVER="true" if server else "false")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_server_answers_exactly_what_an_in_process_search_does(repo: Path, mossen: Mossen,
                                                                     server: subprocess.Popen[str]) -> None:
    for query in QUERIES:
        assert search(mossen, repo, query, server=True) == search(mossen, repo, query, server=False)
    direct = search_client.ask(folder(mossen, repo), SearchRequest("backoff", refresh=False))
    assert direct is not None and direct.hits[0].path == "net/retry.py" and direct.embedded == direct.chunks


def test_the_server_refreshes_edits_and_survives_a_rebuild(repo: Path, mossen: Mossen,
                                                            server: subprocess.Popen[str]) -> None:
    (repo / "net/tls.py").write_text('def verify_certificate_chain(chain):\n    """Check every signature."""\n'
                                     "    return all(c.ok for c in chain)\n")
    assert search(mossen, repo, "verify_certificate_chain", server=True)[0]["path"] == "net/tls.py"
    assert mossen.run("index", str(repo), "--rebuild").returncode == 0  # another process replaces the index
    assert search(mossen, repo, "verify certificate chain", server=True)[0]["path"] == "net/tls.py"
    assert server.poll() is None


def test_a_search_starts_a_server_and_the_server_stops_when_idle(repo: Path, mossen: Mossen) -> None:
    path = search_client.socket_path(folder(mossen, repo))
    assert not path.exists()
    first = mossen.run("search", "backoff", "--path", str(repo), "--json",
                       MOSSEN_SEARCH_SERVER="true", MOSSEN_SEARCH_SERVER_IDLE="3")
    assert first.returncode == 0 and json.loads(first.stdout)[0]["path"] == "net/retry.py"
    deadline = time.monotonic() + 60
    while search_client.ask(folder(mossen, repo), SearchRequest("backoff", refresh=False)) is None:
        assert time.monotonic() < deadline, "no server was started"
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while path.exists():  # idle for 3 s: it stops and removes its socket
        assert time.monotonic() < deadline, "the idle server did not stop"
        time.sleep(0.5)


def test_a_stale_socket_falls_back_to_searching_here(repo: Path, mossen: Mossen) -> None:
    path = search_client.socket_path(folder(mossen, repo))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening: what a killed server leaves
    try:
        assert search_client.ask(folder(mossen, repo), SearchRequest("backoff")) is None
        assert search(mossen, repo, "backoff", "--no-server", server=True)[0]["path"] == "net/retry.py"
    finally:
        path.unlink(missing_ok=True)


def test_a_second_server_for_the_same_index_exits_at_once(repo: Path, mossen: Mossen,
                                                         server: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    second = mossen.run("serve", str(repo), "--idle", "120", timeout=60)
    assert second.returncode == 0 and time.monotonic() - started < 30
    assert server.poll() is None
