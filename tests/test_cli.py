"""The CLI contract other tools rely on: `mossen index`, `search --json`, `status`, run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.embed.base import model_id_for
from indexer.settings import DEFAULT_EMBED_BACKEND
from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

FILES = {
    "src/net/session.py": '''"""HTTP sessions."""


class SessionPool:
    """A pool of keep-alive sessions."""

    def __init__(self, size: int, connect_timeout: float, read_timeout: float) -> None:
        """Create an empty pool holding at most size sessions."""
        self.size = size
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sessions: list = []
        self.waiting: list = []
        self.created = 0

    def acquire(self, host: str, port: int, scheme: str = "https"):
        """Take a session for host:port from the pool, or open a new one."""
        for session in self.sessions:
            if session.host == host and session.port == port and not session.busy:
                session.busy = True
                return session
        if len(self.sessions) >= self.size:
            raise RuntimeError(f"pool exhausted: {len(self.sessions)} of {self.size} sessions busy")
        session = open_session(scheme, host, port, self.connect_timeout, self.read_timeout)
        self.sessions.append(session)
        self.created += 1
        return session

    def close_idle(self, max_idle: float) -> int:
        """Close sessions idle longer than max_idle seconds."""
        closed = 0
        for session in self.sessions:
            if session.idle_for() > max_idle:
                session.close()
                closed += 1
        return closed
''',
    "src/net/retry.go": '''package net

// RetryPolicy says how often a request is retried.
type RetryPolicy struct {
	MaxRetries int
}

// Backoff returns the delay before the given attempt.
func (p RetryPolicy) Backoff(attempt int) int {
	return 100 * (1 << attempt)
}
''',
    "web/format.ts": '''export function formatUserName(first: string, last: string): string {
  return `${last}, ${first}`;
}
''',
    "docs/guide.md": "# Guide\n\n## Retries\n\nRetries are configured with RetryPolicy.MaxRetries.\n",
}

CONTRACT = {"path": str, "start_line": int, "end_line": int, "language": str, "score": float}


@pytest.fixture
def repo(tmp_path: Path, mossen: Mossen) -> Path:
    return mossen.index(make_repo(tmp_path / "repo", FILES))


def test_search_json_is_the_contract(repo: Path, mossen: Mossen) -> None:
    done = mossen.run("search", "close idle sessions", "--path", str(repo), "--json", "--top-k", "3")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)  # stdout is exactly one JSON array
    assert 1 <= len(hits) <= 3
    for hit in hits:
        for key, kind in CONTRACT.items():
            assert isinstance(hit[key], kind), key
        assert "symbol" in hit and (hit["symbol"] is None or isinstance(hit["symbol"], str))
        lines = (repo / hit["path"]).read_text().splitlines()
        assert 1 <= hit["start_line"] <= hit["end_line"] <= len(lines)
    assert hits[0]["path"] == "src/net/session.py" and hits[0]["symbol"] == "SessionPool.close_idle"
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_filters_and_identifier_queries(repo: Path, mossen: Mossen) -> None:
    go_only = mossen.search_json(repo, "retry backoff", "--lang", "go")
    assert go_only and {h["language"] for h in go_only} == {"go"}
    web = mossen.search_json(repo, "user name", "--glob", "web/**")
    assert web and all(h["path"].startswith("web/") for h in web)
    assert mossen.search_json(repo, "formatUserName")[0]["path"] == "web/format.ts"
    assert mossen.search_json(repo, "MaxRetries")[0]["path"] in {"src/net/retry.go", "docs/guide.md"}


def test_search_refreshes_changed_files_unless_told_not_to(repo: Path, mossen: Mossen) -> None:
    (repo / "web" / "format.ts").write_text("export function quarantineTelemetry(): void {}\n")
    stale = mossen.search_json(repo, "quarantineTelemetry", "--no-refresh")
    assert all(h["symbol"] != "quarantineTelemetry" for h in stale)
    fresh = mossen.run("search", "quarantineTelemetry", "--path", str(repo), "--json")
    assert fresh.returncode == 0 and "refreshed 1 changed" in fresh.stderr
    assert json.loads(fresh.stdout)[0]["symbol"] == "quarantineTelemetry"


def test_human_output_and_status(repo: Path, mossen: Mossen) -> None:
    done = mossen.run("search", "close idle sessions", "--path", str(repo))
    assert done.returncode == 0 and "src/net/session.py:" in done.stdout and "SessionPool.close_idle" in done.stdout
    status = mossen.run("status", str(repo), "--json")
    info = json.loads(status.stdout)
    assert info["files"] == 4 and info["chunks"] >= 4 and info["stale_files"] == 0
    # the default backend's model: all-MiniLM-L6-v2, with "#onnx-int8" when int8 vectors are the default
    assert info["model"] == model_id_for(DEFAULT_EMBED_BACKEND) and info["dimension"] == 384
    assert info["model"].startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert set(info["languages"]) == {"python", "go", "typescript", "markdown"}
    (repo / "src/net/new.py").write_text("X = 1\n")
    assert json.loads(mossen.run("status", str(repo), "--json").stdout)["stale_files"] == 1
    human = mossen.run("status", str(repo))
    assert "stale" in human.stdout and "1 files changed" in human.stdout


def test_search_without_index_says_what_to_do(tmp_path: Path, mossen: Mossen) -> None:
    repo = make_repo(tmp_path / "fresh", {"a.py": "A = 1\n"})
    done = mossen.run("search", "anything", "--path", str(repo), "--json")
    assert done.returncode == 1 and done.stdout == "" and "mossen index" in done.stderr


def test_help_explains_each_command(mossen: Mossen) -> None:
    for command, words in (("index", "incremental"), ("search", "--json"), ("status", "stale")):
        done = mossen.run(command, "--help")
        assert done.returncode == 0 and words in done.stdout


def test_index_folder_default_is_outside_the_repo(tmp_path: Path, mossen: Mossen) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    env = mossen.env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    del env["MOSSEN_INDEX_DIR"]
    done = subprocess.run([sys.executable, "-m", "mossen", "index", str(repo)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "xdg" / "mossen" / "indexes").glob("repo-*/catalog.sqlite"))
    assert not list(repo.rglob("*.sqlite"))
