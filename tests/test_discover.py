"""Discovery on real trees: real git (subprocess), real files, FIFOs and symlinks in tmp_path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from indexer.discover import NESTED_REPO_REASON, SYMLINK_REASON, Discovery, discover_files
from indexer.ignore import CREDENTIAL_REASON, DEFAULT_EXCLUDES, RuleSet, is_credential_path
from indexer.settings import MIB, IndexSettings

GIT = shutil.which("git") or "git"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run([GIT, *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _write(root: Path, rel: str, data: bytes | str = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _files(found: Discovery) -> list[str]:
    return [c.path for c in found.files]


def _reasons(found: Discovery) -> dict[str, str]:
    return {s.path: s.reason for s in found.skipped}


def _inside_work_tree(path: Path) -> bool:
    done = subprocess.run([GIT, "rev-parse", "--is-inside-work-tree"], cwd=path, capture_output=True)
    return done.returncode == 0


@pytest.fixture(params=["git", "walk", "git-missing"])
def tree(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository folder, discovered three ways.

    git: a real work tree. walk: a plain folder outside any work tree.
    git-missing: a real work tree while `git` is not on PATH, so discovery walks.
    """
    root = tmp_path / "repo"
    root.mkdir()
    if request.param == "walk":
        assert not _inside_work_tree(root), "tmp_path must not be inside a git work tree"
    else:
        _git(root, "init", "-q")
    if request.param == "git-missing":
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
    return root


# -- git -------------------------------------------------------------------


def test_git_lists_tracked_and_untracked_but_not_ignored_or_deleted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, ".gitignore", "*.log\nscratch/\n")
    _write(repo, "tracked.py")
    _write(repo, "gone.py")
    _write(repo, "dir with space/ü ñ.py")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    _write(repo, "untracked/new.py")
    _write(repo, "debug.log")
    _write(repo, "scratch/notes.py")
    (repo / "gone.py").unlink()  # deleted but still tracked

    found = discover_files(repo, IndexSettings())

    assert _files(found) == [".gitignore", "dir with space/ü ñ.py", "tracked.py", "untracked/new.py"]
    assert found.skipped == ()
    st = os.lstat(repo / "tracked.py")
    only = next(c for c in found.files if c.path == "tracked.py")
    assert (only.size, only.mtime_ns, only.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)


def test_subfolder_of_a_work_tree_gives_paths_relative_to_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, "top.py")
    _write(repo, "pkg/mod.py")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    _write(repo, "pkg/sub/untracked.py")

    assert _files(discover_files(repo / "pkg", IndexSettings())) == ["mod.py", "sub/untracked.py"]


def test_submodule_and_nested_repository_are_skipped_with_reason(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "-q")
    _write(other, "lib.py")
    _git(other, "add", "-A")
    _git(other, "commit", "-qm", "lib")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, "main.py")
    _git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(other), "libs/other")
    _git(repo, "commit", "-qm", "with submodule")
    nested = repo / "nested"
    nested.mkdir()
    _git(nested, "init", "-q")
    _write(nested, "inner.py")

    found = discover_files(repo, IndexSettings())

    assert _files(found) == [".gitmodules", "main.py"]
    assert _reasons(found) == {"libs/other": NESTED_REPO_REASON, "nested": NESTED_REPO_REASON}


def test_stat_failure_is_skipped_with_the_os_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, "pkg/mod.py")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    # git still lists pkg/mod.py, but pkg is now a file: lstat fails with ENOTDIR even for root.
    shutil.rmtree(repo / "pkg")
    _write(repo, "pkg", "not a folder\n")

    found = discover_files(repo, IndexSettings())

    assert _reasons(found) == {"pkg/mod.py": "cannot be read: Not a directory"}
    assert _files(found) == ["pkg"]


# -- walking without git ----------------------------------------------------


def test_walk_honours_nested_gitignore_with_relative_anchoring(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    assert not _inside_work_tree(root)
    _write(root, ".gitignore", "*.log\n!keep.log\n/top_only.txt\nignored_dir/\n!ignored_dir/back.py\n")
    _write(root, "sub/.gitignore", "local.txt\n/anchored.txt\n!important.log\n")
    for rel in ("a.py", "x.log", "keep.log", "top_only.txt", "sub/top_only.txt",
                "ignored_dir/back.py", "sub/local.txt", "sub/deeper/local.txt", "sub/anchored.txt",
                "sub/deeper/anchored.txt", "sub/important.log", "sub/other.log"):
        _write(root, rel)
    _write(root, ".git/config", "[core]\n")  # a stray .git folder is never entered

    found = discover_files(root, IndexSettings())

    assert _files(found) == [
        ".gitignore", "a.py", "keep.log", "sub/.gitignore", "sub/deeper/anchored.txt",
        "sub/important.log", "sub/top_only.txt",
    ]
    assert found.skipped == ()


def test_walk_without_git_agrees_with_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write(repo, ".gitignore", "*.tmp\n/out_here/\n")
    _write(repo, "src/.gitignore", "cache/\n!keep.tmp\n")
    for rel in ("src/a.py", "src/cache/c.py", "src/keep.tmp", "src/x.tmp", "out_here/o.py",
                "src/out_here/o.py", "docs/readme.md"):
        _write(repo, rel)
    with_git = discover_files(repo, IndexSettings())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    without_git = discover_files(repo, IndexSettings())

    assert _files(without_git) == _files(with_git)
    assert "src/out_here/o.py" in _files(with_git) and "src/keep.tmp" in _files(with_git)
    assert not any(p.startswith(".git/") for p in _files(without_git))


# -- mossen's rules ---------------------------------------------------------


def test_mossenignore_excludes_and_reincludes_default_exclusions(tree: Path) -> None:
    """`!vendor/keep.py` works although `vendor/` excludes its folder: a file rule beats a folder rule."""
    _write(tree, ".mossenignore", "docs/\n!vendor/keep.py\n!Cargo.lock\n!third_party/\n")
    for rel in ("src/a.py", "docs/guide.md", "vendor/keep.py", "vendor/other.py", "Cargo.lock",
                "yarn.lock", "third_party/lib.py", "third_party/logo.png"):
        _write(tree, rel)

    found = discover_files(tree, IndexSettings())

    assert _files(found) == [
        ".mossenignore", "Cargo.lock", "src/a.py", "third_party/lib.py", "vendor/keep.py",
    ]


def test_settings_exclude_comes_before_mossenignore(tree: Path) -> None:
    _write(tree, ".mossenignore", "!gen_keep.py\n")
    for rel in ("gen_a.py", "gen_keep.py", "hand.py", "build/keep_me.py"):
        _write(tree, rel)
    settings = IndexSettings(exclude=("gen_*.py", "!build/"))

    assert _files(discover_files(tree, settings)) == [
        ".mossenignore", "build/keep_me.py", "gen_keep.py", "hand.py",
    ]


CREDENTIALS = (
    ".env", ".env.local", "config/.envrc", "keys/server.pem", "keys/tls.key", "certs/a.p12",
    "home/.ssh/id_rsa", "id_ed25519.pub", ".npmrc", ".netrc", ".pypirc", ".pgpass", "web/.htpasswd",
    "gcp/credentials.json", "home/.aws/credentials", "home/.docker/config.json", "app.keystore",
    "release.jks", "deploy/secrets.yaml", "secrets.yml", ".git-credentials",
)


def test_credential_files_are_never_listed_even_when_reincluded(tree: Path) -> None:
    _write(tree, ".mossenignore", "!.env\n!.env.*\n!*.pem\n!*.key\n!secrets.y*ml\n!**\n")
    for rel in CREDENTIALS:
        _write(tree, rel, "TOKEN=hunter2\n")
    _write(tree, "app.py")

    found = discover_files(tree, IndexSettings())

    assert _files(found) == [".mossenignore", "app.py"]
    assert _reasons(found) == {rel: CREDENTIAL_REASON for rel in CREDENTIALS}


@pytest.mark.parametrize("path", CREDENTIALS + ("A/.ENV", "Server.PEM"))
def test_is_credential_path_matches_at_any_depth_and_case(path: str) -> None:
    assert is_credential_path(path)


@pytest.mark.parametrize("path", ["env.py", "environment.md", "aws/credentials", "keyboard.py",
                                  "secrets.py", "docs/keys.md", "src/.envelope", "pem.txt"])
def test_is_credential_path_leaves_ordinary_files(path: str) -> None:
    assert not is_credential_path(path)


DEFAULT_FAMILIES = {
    "lock files": ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock",
                   "Gemfile.lock", "composer.lock", "go.sum", "uv.lock", "Pipfile.lock", "sub/any.lock"],
    "vendored and generated folders": [
        "node_modules/a/index.js", "vendor/lib.py", "deep/third_party/x.c", "dist/app.js",
        "build/out.py", "target/debug/main.rs", "out/a.py", ".venv/lib/m.py", "venv/m.py", "env/m.py",
        "pkg/__pycache__/m.py", ".tox/t.py", ".nox/n.py", ".mypy_cache/c.json",
        ".pytest_cache/README.md", ".ruff_cache/x.txt", ".next/page.js", ".nuxt/app.js",
        "coverage/lcov.info", ".gradle/x.txt", ".idea/workspace.xml", ".vscode/settings.json",
        "bower_components/b.js", "lib/site-packages/mod.py", ".eggs/e.py", "pkg.egg-info/PKG-INFO",
    ],
    "minified": ["static/app.min.js", "static/site.min.css", "static/app.js.map", "lib-min.js",
                 "app.bundle.js"],
    "binaries": ["logo.png", "photo.jpg", "a.zip", "b.tar.gz", "font.woff2", "clip.mp4", "song.mp3",
                 "mod.pyc", "lib.so", "x.dll", "app.exe", "main.o", "libx.a", "A.class", "app.jar",
                 "m.wasm", "paper.pdf", "data.sqlite", "app.db", "weights.bin", "model.pt",
                 "model.onnx", "model.safetensors", "model.gguf", "arr.npy"],
    "data files": ["data/rows.csv", "t.tsv", "eval/cases.jsonl", "log.ndjson"],
}


@pytest.mark.parametrize("family", sorted(DEFAULT_FAMILIES))
def test_default_exclusions_drop_every_family_silently(tree: Path, family: str) -> None:
    for rel in DEFAULT_FAMILIES[family]:
        _write(tree, rel)
    _write(tree, "kept.py")

    found = discover_files(tree, IndexSettings())

    assert _files(found) == ["kept.py"]
    assert found.skipped == ()


def test_default_exclusions_are_a_documented_tuple_of_gitignore_patterns() -> None:
    for pattern in ("package-lock.json", "*.lock", "node_modules/", "*.egg-info/", ".git/",
                    "*.min.js", "*.map", "*.png", "*.safetensors", "*.npy"):
        assert pattern in DEFAULT_EXCLUDES


def test_rule_set_gives_pathspec_verdicts() -> None:
    rules = RuleSet(["*.log", "!keep.log", "build/", "/top.txt", "docs/**/*.tmp", "bad[", "# comment"])
    assert rules.verdict("a/x.log") is True
    assert rules.verdict("a/keep.log") is False
    assert rules.verdict("src/build", is_dir=True) is True
    assert rules.verdict("src/build") is None  # a file named build is not the folder
    assert rules.verdict("src/build/x.py") is True
    assert rules.verdict("top.txt") is True and rules.verdict("a/top.txt") is None
    assert rules.verdict("docs/a/b/c.tmp") is True and rules.verdict("src/c.tmp") is None



def test_rule_set_prunes_a_folder_only_when_no_negation_can_reach_inside() -> None:
    assert RuleSet(["build/"]).prunes("build")
    assert RuleSet(["build/", "!docs/keep.py"]).prunes("build")
    assert not RuleSet(["build/", "!build/keep.py"]).prunes("build")
    assert not RuleSet(["build/", "!keep.py"]).prunes("build")  # unanchored: could be anywhere
    assert not RuleSet(["build/"]).prunes("src")


# -- size, links, special files --------------------------------------------


def test_files_over_the_size_limit_are_skipped(tree: Path) -> None:
    _write(tree, "big.py", b"#" * (MIB + 1))
    _write(tree, "exact.py", b"#" * MIB)

    found = discover_files(tree, IndexSettings())

    assert _files(found) == ["exact.py"]
    assert _reasons(found) == {"big.py": "larger than 1.0 MiB"}
    small = discover_files(tree, IndexSettings(max_file_bytes=1000))
    assert _reasons(small) == {"big.py": "larger than 1000 bytes", "exact.py": "larger than 1000 bytes"}


def test_symlinks_are_never_followed(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, "secret.py", "SECRET = 1\n")
    _write(tree, "real/inner.py")
    links = {
        "to_file.py": "real/inner.py",
        "to_dir": "real",
        "to_outside_file.py": str(outside / "secret.py"),
        "to_outside_dir": str(outside),
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "self_loop": "self_loop",
        "dangling.py": "missing.py",
    }
    for name, target in links.items():
        os.symlink(target, tree / name)

    found = discover_files(tree, IndexSettings())

    assert _files(found) == ["real/inner.py"]
    assert _reasons(found) == {name: SYMLINK_REASON for name in links}


def test_fifos_and_sockets_are_not_candidates(tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock_path = tree / "s.sock"
    try:
        sock.bind(str(sock_path))
    except OSError:  # socket path too long for AF_UNIX on this machine
        sock_path = None
    _write(tree, "a.py")
    try:
        found = discover_files(tree, IndexSettings())
    finally:
        sock.close()

    assert _files(found) == ["a.py"]
    if _inside_work_tree(tree) and shutil.which("git"):
        assert found.skipped == ()  # git itself never lists FIFOs or sockets
    else:
        expected = {"pipe": "not a regular file (FIFO)"}
        if sock_path is not None:
            expected["s.sock"] = "not a regular file (socket)"
        assert _reasons(found) == expected


def test_file_name_that_is_not_utf8_is_skipped(tree: Path) -> None:
    fd = os.open(os.path.join(os.fsencode(tree), b"caf\xe9.py"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    _write(tree, "ok.py")

    found = discover_files(tree, IndexSettings())

    assert _files(found) == ["ok.py"]
    assert _reasons(found) == {"caf\ufffd.py": "file name is not valid UTF-8"}


def test_output_is_sorted(tree: Path) -> None:
    for rel in ("b.py", "a/z.py", "a.py", "C.py", "big.py"):
        _write(tree, rel)
    _write(tree, ".env", "X=1\n")
    os.symlink("a.py", tree / "0link")

    found = discover_files(tree, IndexSettings(max_file_bytes=3))

    assert _files(found) == sorted(_files(found))
    assert [s.path for s in found.skipped] == sorted(s.path for s in found.skipped)
