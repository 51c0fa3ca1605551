"""Bad input never crashes an index run: each case is skipped or handled with a stated reason.

A corpus with every hostile case is indexed by the real CLI; the run exits 0,
the index is consistent, and good files next to the bad ones are searchable.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from indexer import IndexSettings, ProgressEvent, SearchOptions, index_repo, search
from indexer.verify import verify_index
from tests.conftest import Mossen, make_repo

GOOD = '''def resolve_pager_command(env: dict) -> str:
    """Pick the pager from PAGER, falling back to less."""
    return env.get("PAGER", "less")
'''


def hostile_corpus(root: Path) -> Path:
    """Every bad-input case of the foundation issue, beside one good file."""
    root.mkdir(parents=True)
    (root / "good.py").write_text(GOOD)
    (root / "binary.py").write_bytes(bytes(range(256)) * 64)
    (root / "latin1.py").write_bytes("x = '\xe9t\xe9'\n".encode("latin-1") * 3 + b"y = 1\n" * 400)
    (root / "garbage.txt").write_bytes(bytes([0x80, 0xFD, 0xC0, 0xFF]) * 2000 + b"\n")
    (root / "utf16.py").write_bytes("def utf_sixteen_marker():\n    return 'bom'\n".encode("utf-16"))
    (root / "bom8.py").write_bytes(b"\xef\xbb\xbfdef utf_eight_bom_marker():\n    return 1\n")
    (root / "app.js").write_text("var a=" + "1+" * 2_500_000 + "1;")  # 5 MB on one line
    (root / "nested.py").write_text("x = " + "(" * 100_000 + "\n")
    (root / "nested.js").write_text("[" * 50_000)
    (root / "empty.py").write_text("")
    (root / "spaces only.py").write_text("   \n\n\t\n")
    (root / "ünïcødé näme.py").write_text("def unicode_named_file_marker():\n    pass\n")
    (root / "loop").symlink_to("loop")
    (root / "link_out.py").symlink_to("/etc/hostname")
    (root / "dir_out").symlink_to("/etc")
    (root / "sub").mkdir()
    (root / "sub" / "back").symlink_to("..")
    (root / "locked.py").write_text("def locked_file_marker():\n    pass\n")
    (root / "locked.py").chmod(0)
    (root / ".env").write_text("AWS_SECRET_ACCESS_KEY=canary\n")
    os.mkfifo(root / "pipe.py")
    return root


@pytest.mark.parametrize("use_git", [False, True], ids=["plain-folder", "git-repo"])
def test_hostile_corpus_indexes_cleanly(tmp_path: Path, mossen: Mossen, use_git: bool) -> None:
    repo = hostile_corpus(tmp_path / "repo")
    if use_git:
        make_repo(repo, {}, commit=False)
    done = mossen.run("index", str(repo), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "binary" in reasons["binary.py"]
    assert "1.0 MiB" in reasons["app.js"] or "larger" in reasons["app.js"]
    assert "UTF-8" in reasons["garbage.txt"]
    assert "credential" in reasons[".env"]
    assert "link" in reasons["link_out.py"] and "link" in reasons["loop"]
    if not use_git:  # git never lists a FIFO; the folder walk must say why it left it out
        assert "FIFO" in reasons["pipe.py"]
    if os.geteuid() != 0:  # root reads mode-000 files; everyone else must see a reason
        assert "locked.py" in reasons
    settings = IndexSettings(index_root=mossen.index_root)
    assert verify_index(repo, settings) == []
    found = {h["path"] for h in mossen.search_json(repo, "which pager command", "--no-refresh")}
    assert "good.py" in found
    for marker, path in (("utf_sixteen_marker", "utf16.py"), ("utf_eight_bom_marker", "bom8.py"),
                         ("unicode_named_file_marker", "ünïcødé näme.py")):
        assert mossen.search_json(repo, marker, "--no-refresh")[0]["path"] == path
    assert mossen.run("search", "etc hostname", "--path", str(repo), "--json").returncode == 0


def test_files_deleted_or_rewritten_while_indexing(tmp_path: Path, settings: IndexSettings) -> None:
    files = {f"m{n:02d}.py": f"def function_number_{n}():\n    return {n}\n" for n in range(12)}
    repo = make_repo(tmp_path / "repo", files)
    one_by_one = replace(settings, commit_every=1)

    def meddle(event: ProgressEvent) -> None:
        if event.phase == "index" and event.done >= 2 and (repo / "m07.py").exists():
            (repo / "m07.py").unlink()
            (repo / "m09.py").write_text("def rewritten_during_indexing():\n    return 'new'\n")

    report = index_repo(repo, one_by_one, meddle)
    assert any(s.path == "m07.py" for s in report.skipped)
    again = index_repo(repo, one_by_one)  # the rewrite is picked up; the deletion leaves nothing
    assert verify_index(repo, settings) == []
    top = search(repo, "rewritten during indexing", settings, SearchOptions(top_k=1))[0]
    assert top.path == "m09.py"
    assert again.files_seen == 11


def test_empty_repositories(tmp_path: Path, mossen: Mossen) -> None:
    for repo in (make_repo(tmp_path / "git-empty", {}), tmp_path / "plain-empty"):
        repo.mkdir(exist_ok=True)
        done = mossen.run("index", str(repo), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["files_seen"] == 0
        assert mossen.search_json(repo, "anything") == []


def test_path_that_is_not_a_directory(tmp_path: Path, mossen: Mossen) -> None:
    (tmp_path / "file.txt").write_text("hi")
    for target, words in ((tmp_path / "file.txt", "not a directory"), (tmp_path / "missing", "does not exist")):
        done = mossen.run("index", str(target))
        assert done.returncode == 1 and words in done.stderr and "Traceback" not in done.stderr
