"""The vectors on a real Chroma server (`chroma run` on loopback) instead of the embedded store.

Real git, tree-sitter, embeddings, `mossen` subprocesses and a real server that
the test kills with SIGKILL and restarts on the same path.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer import IndexSettings
from indexer.errors import VectorStoreError
from indexer.settings import ChromaServer
from indexer.store.backends import collection_name, repo_identity
from indexer.verify import verify_index
from mossen.config import load_config
from mossen.errors import PrivacyError
from tests.conftest import Mossen, git, make_repo

CHROMA = Path(sys.executable).with_name("chroma")
VERBS = ("parse", "merge", "route", "score", "flush", "render", "verify", "index", "fetch", "encode")
NOUNS = ("invoice", "socket", "ledger", "thumbnail", "manifest", "tenant", "cursor", "webhook", "quota", "glyph")
QUERIES = ("flush the ledger payload", "render thumbnail for shard", "webhook retry budget", "encode glyph tenant quota")


def function(i: int, j: int) -> str:
    verb, noun = VERBS[j], NOUNS[(i + j) % len(NOUNS)]
    return (f"def {verb}_{noun}_{i}_{j}(payload, limit={j}):\n"
            f'    """{verb.title()} the {noun} payload for shard {i}, honouring the limit and the retry budget."""\n'
            f"    total = 0\n    for item in payload:\n        if item.{noun}_size > limit:\n"
            f"            total += item.{noun}_size * {i} + {j}\n        else:\n"
            f"            total -= len(item.{verb}_name)\n    return total\n")


FILES = {f"svc/mod_{i:02d}.py": "\n\n".join(function(i, j) for j in range(10)) for i in range(70)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A `chroma run` process in its own process group."""

    path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.path.parent / "chroma.log").open("ab") as log:  # the server keeps its own copy of the fd
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"chroma did not answer on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A port for a Chroma server (not started yet); whatever happens, the server is killed."""
    (tmp_path / "chroma").mkdir()
    srv = Server(tmp_path / "chroma" / "data", free_port())
    try:
        yield srv
    finally:
        srv.kill()


def hits(mossen: Mossen, repo: Path, query: str, **env: str) -> list[dict[str, object]]:
    done = mossen.run("search", query, "--path", str(repo), "--json", "--no-refresh", "--top-k", "8", **env)
    assert done.returncode == 0, done.stderr
    return [{k: h[k] for k in ("path", "start_line", "end_line", "symbol", "language")} | {"score": round(h["score"], 4)}
            for h in json.loads(done.stdout)]


def status(mossen: Mossen, repo: Path, **env: str) -> dict[str, object]:
    done = mossen.run("status", str(repo), "--json", **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def remote_count(port: int) -> int:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
    try:
        return sum(c.count() for c in client.list_collections())
    finally:
        client.close()


def test_index_through_a_server_survives_its_death_and_matches_the_embedded_store(tmp_path: Path, server: Server) -> None:
    local_repo = make_repo(tmp_path / "local" / "repo", FILES)
    shared_repo = make_repo(tmp_path / "shared" / "repo", FILES)
    local, remote = Mossen(tmp_path / "idx-local"), Mossen(tmp_path / "idx-remote")
    # The configuration from the repository's .mossen.toml (kept out of the index by git's exclude file).
    (shared_repo / ".mossen.toml").write_text(f'[index]\nstore = "chroma-server"\n\n[chroma]\nport = {server.port}\n')
    (shared_repo / ".git" / "info" / "exclude").write_text(".mossen.toml\n")

    assert local.run("index", str(local_repo)).returncode == 0
    expected = {q: hits(local, local_repo, q) for q in QUERIES}
    chunks = status(local, local_repo)["chunks"]
    assert chunks > 512  # more than one dense batch, so a kill can fall between two upserts

    # No server yet: a clear error naming host:port, a non-zero exit, the lexical index whole.
    down = remote.run("index", str(shared_repo), timeout=300)
    assert down.returncode != 0 and f"127.0.0.1:{server.port}" in down.stderr, down.stderr
    first = status(remote, shared_repo)
    assert (first["chunks"], first["pending_chunks"]) == (chunks, chunks)

    # The server dies (SIGKILL) once the first batch of vectors has landed.
    server.start()
    run = subprocess.Popen([sys.executable, "-m", "mossen", "index", str(shared_repo)], env=remote.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while run.poll() is None and remote_count(server.port) == 0:
            time.sleep(0.05)
        time.sleep(0.3)  # let the client hear that the batch landed; the next one takes seconds to embed
        assert run.poll() is None, "the run finished before the server could be killed"
        server.kill()
        _, err = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0 and f"Chroma server at 127.0.0.1:{server.port}" in err, err
    assert "internal error" not in err
    halfway = status(remote, shared_repo)
    assert 0 < halfway["pending_chunks"] < chunks  # some vectors landed, the rest is still pending

    # Back on the same path: the next run sends what did not land, and the index is complete.
    server.start()
    again = remote.run("index", str(shared_repo), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["pending"] == 0 and status(remote, shared_repo)["pending_chunks"] == 0
    settings = IndexSettings(index_root=tmp_path / "idx-remote", chroma=ChromaServer(port=server.port))
    assert verify_index(shared_repo, settings) == []
    assert remote_count(server.port) == chunks
    assert {q: hits(remote, shared_repo, q) for q in QUERIES} == expected

    # A second machine (another clone, its own catalog) finds every vector already on the server.
    clone = tmp_path / "machine-b" / "repo"
    clone.parent.mkdir()
    git(tmp_path, "clone", "-q", str(shared_repo), str(clone))
    other = Mossen(tmp_path / "idx-b")
    joined = other.run("index", str(clone), "--json", MOSSEN_INDEX_STORE="chroma-server",
                       MOSSEN_CHROMA_PORT=str(server.port))
    assert joined.returncode == 0, joined.stderr
    report = json.loads(joined.stdout)
    assert (report["embedded"], report["embed_cache_hits"], report["pending"]) == (0, 0, 0)
    assert remote_count(server.port) == chunks  # the same collection: same root commit, same model
    assert hits(other, clone, QUERIES[0], MOSSEN_INDEX_STORE="chroma-server",
                MOSSEN_CHROMA_PORT=str(server.port)) == expected[QUERIES[0]]


def test_a_collection_of_another_model_is_refused(tmp_path: Path, server: Server) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": function(1, 1)})
    server.start()
    mossen = Mossen(tmp_path / "idx")
    env = {"MOSSEN_INDEX_STORE": "chroma-server", "MOSSEN_CHROMA_PORT": str(server.port)}
    assert mossen.run("index", str(repo), "--lexical-only", **env).returncode == 0
    model = status(mossen, repo)["model"]
    import chromadb
    from chromadb.config import Settings

    client = chromadb.HttpClient(host="127.0.0.1", port=server.port, settings=Settings(anonymized_telemetry=False))
    key, label = repo_identity(repo.resolve(), "")
    client.create_collection(collection_name(key, model, 384), embedding_function=None,
                             metadata={"model": "other-embedder", "dimension": 768, "repo": label})
    client.close()
    done = mossen.run("index", str(repo), **env)
    assert done.returncode != 0 and "other-embedder" in done.stderr and "768" in done.stderr, done.stderr
    assert "internal error" not in done.stderr
    assert remote_count(server.port) == 0  # nothing was written to the other model's collection


def test_privacy_local_refuses_a_remote_store_before_any_connection(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": function(1, 1)})
    mossen = Mossen(tmp_path / "idx")
    started = time.monotonic()
    done = mossen.run("index", str(repo), MOSSEN_PRIVACY="local", MOSSEN_INDEX_STORE="chroma-server",
                      MOSSEN_CHROMA_HOST="10.255.255.1", MOSSEN_CHROMA_PORT="8000")
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert 'privacy is "local"' in done.stderr and "10.255.255.1" in done.stderr, done.stderr
    assert elapsed < ChromaServer().connect_timeout  # refused before a connection that would have timed out
    assert not (tmp_path / "idx").exists()  # refused before anything was indexed, let alone sent
    # Loopback in every spelling is this machine.
    for host in ("127.0.0.1", "::1", "localhost"):
        config = load_config(repo, {}, {"MOSSEN_PRIVACY": "local", "MOSSEN_INDEX_STORE": "chroma-server",
                                        "MOSSEN_CHROMA_HOST": host, "MOSSEN_CONFIG": str(tmp_path / "none.toml")})
        assert config.index_settings().chroma is not None
    with pytest.raises(PrivacyError, match="192.168.1.20"):
        load_config(repo, {}, {"MOSSEN_PRIVACY": "local", "MOSSEN_INDEX_STORE": "chroma-server",
                               "MOSSEN_CHROMA_HOST": "192.168.1.20", "MOSSEN_CONFIG": str(tmp_path / "none.toml")}
                    ).index_settings()


def test_server_settings_take_env_overrides_and_tokens_from_the_environment(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".mossen.toml").write_text('[index]\nstore = "chroma-server"\n[chroma]\nhost = "chroma.internal"\n'
                                       'port = 8123\nheaders = { "X-Chroma-Token" = "${TEAM_TOKEN}" }\n')
    env = {"MOSSEN_CONFIG": str(tmp_path / "none.toml"), "TEAM_TOKEN": "s3cret", "MOSSEN_CHROMA_PORT": "9001"}
    chroma = load_config(repo, {}, env).index_settings().chroma
    assert chroma is not None
    assert (chroma.host, chroma.port, dict(chroma.headers)) == ("chroma.internal", 9001, {"X-Chroma-Token": "s3cret"})
    assert "s3cret" not in repr(chroma)  # a token never shows up in a repr or traceback


def test_the_collection_is_named_by_the_root_commit_or_the_configured_id(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", "sub/b.py": "y = 2\n"})
    root = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    git(repo, "commit", "-q", "--allow-empty", "-m", "later")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert repo_identity(repo, "") == repo_identity(clone, "") == (root[:16], f"root:{root}")
    assert repo_identity(repo / "sub", "")[1] == f"root:{root}/sub"  # a sub-folder index is its own collection
    assert repo_identity(repo, "Acme Backend")[1] == "id:Acme Backend"
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(VectorStoreError, match="repo_id"):
        repo_identity(plain, "")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    with pytest.raises(VectorStoreError, match="shallow"):
        repo_identity(shallow, "")
    name = collection_name(repo_identity(repo, "Acme Backend")[0], "some/model", 384)
    assert name.startswith("mossen-Acme-Backend-") and len(name) < 64
