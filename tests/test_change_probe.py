"""The warm server's change probe on real git work trees: every change a refresh could see moves the fingerprint."""

from __future__ import annotations

import os
from pathlib import Path

from mossen.change_probe import ChangeProbe
from tests.conftest import git, make_repo


def _repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.py": "def a():\n    return 1\n", "pkg/b.py": "B = 2\n",
                                         ".gitignore": "build/\n"})


def _bump(path: Path, text: str) -> None:
    """Write `text` with an mtime one second on, so even a same-size rewrite in the same tick shows."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_an_untouched_tree_keeps_its_fingerprint(tmp_path: Path) -> None:
    probe = ChangeProbe(_repo(tmp_path))
    first = probe.look()
    assert first is not None
    probe.seen(first)
    assert not probe.changed_since_seen(probe.look())


def test_every_kind_of_change_moves_the_fingerprint(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    probe = ChangeProbe(repo)
    steps = [
        ("edit a tracked file", lambda: _bump(repo / "a.py", "def a():\n    return 2\n")),
        ("edit it again (already modified)", lambda: _bump(repo / "a.py", "def a():\n    return 3\n")),
        ("add an untracked file", lambda: (repo / "c.py").write_text("C = 3\n")),
        ("edit the untracked file", lambda: _bump(repo / "c.py", "C = 4\n")),
        ("delete a tracked file", lambda: (repo / "pkg/b.py").unlink()),
        ("commit everything", lambda: (git(repo, "add", "-A"), git(repo, "commit", "-q", "-m", "more"))),
        ("check out the first commit", lambda: git(repo, "checkout", "-q", "HEAD~1")),
    ]
    for what, change in steps:
        before = probe.look()
        probe.seen(before)
        change()
        assert probe.changed_since_seen(probe.look()), what


def test_ignored_files_do_not_move_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    probe = ChangeProbe(repo)
    probe.seen(probe.look())
    (repo / "build").mkdir()
    (repo / "build" / "out.py").write_text("generated = True\n")
    assert not probe.changed_since_seen(probe.look())


def test_outside_git_every_look_counts_as_a_change(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.py").write_text("A = 1\n")
    probe = ChangeProbe(folder)
    fingerprint = probe.look()
    assert fingerprint is None
    probe.seen(fingerprint)
    assert probe.changed_since_seen(probe.look())
