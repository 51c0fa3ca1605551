"""Shared fixtures: real git repositories, a private index root, and the real CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer import IndexSettings


def git(repo: Path, *args: str) -> str:
    """Run real git in `repo` with a fixed identity; returns stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def make_repo(root: Path, files: dict[str, str], commit: bool = True) -> Path:
    """A real git repository holding `files`."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if commit and files:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model exported to ONNX (fp32 and int8) once per session: an export takes seconds.

    It runs in a child process: the export imports torch, which would leave this process ~800 MiB
    larger, and every child it forks would then start with that high-water mark of memory.
    """
    folder = tmp_path_factory.mktemp("onnx-exports")
    export = ("import sys; from pathlib import Path; from indexer.embed.base import bundled_model_path; "
              "from indexer.embed.onnx_export import onnx_model_file; "
              "onnx_model_file(bundled_model_path(), Path(sys.argv[1]), 'int8')")
    done = subprocess.run([sys.executable, "-c", export, str(folder)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder


def seed_models(index_root: Path, exports: Path) -> None:
    """Give an index root the session's exports (hard links), as on a machine that indexed before."""
    models = index_root / "models"
    models.mkdir(parents=True, exist_ok=True)
    for path in exports.iterdir():
        if not (models / path.name).exists():
            os.link(path, models / path.name)


@pytest.fixture
def seeded_index_root(tmp_path: Path, onnx_exports: Path) -> Path:
    """The test's index root (tmp_path/indexes), holding the session's model exports, so the test does
    not pay an export of its own; tests/test_onnx_embed.py checks exporting itself in other folders.
    Modules that build IndexSettings on tmp_path/indexes themselves use it too (autouse there)."""
    seed_models(tmp_path / "indexes", onnx_exports)
    return tmp_path / "indexes"


@pytest.fixture
def settings(seeded_index_root: Path) -> IndexSettings:
    """Settings whose index root is private to the test."""
    return IndexSettings(index_root=seeded_index_root, lock_timeout=2.0)


@dataclass
class Mossen:
    """Runs the real `mossen` command in a subprocess with a private index root."""

    index_root: Path

    def env(self, **extra: str) -> dict[str, str]:
        # No warm search server unless a test asks for one: it would outlive the test by minutes.
        return {**os.environ, "MOSSEN_INDEX_DIR": str(self.index_root), "HF_HUB_OFFLINE": "1",
                "MOSSEN_CONFIG": str(self.index_root / "no-user-config.toml"), "MOSSEN_SEARCH_SERVER": "false",
                **extra}

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mossen", *args], cwd=cwd, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def popen(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "mossen", *args], env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def index(self, repo: Path, *extra: str) -> Path:
        """`mossen index REPO`, which must succeed; returns the repository."""
        done = self.run("index", str(repo), *extra)
        assert done.returncode == 0, done.stderr
        return repo

    def search_json(self, repo: Path, query: str, *extra: str) -> list[dict]:
        done = self.run("search", query, "--path", str(repo), "--json", *extra)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def mossen(seeded_index_root: Path) -> Mossen:
    return Mossen(seeded_index_root)
