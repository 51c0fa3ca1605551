"""Which files of a repository to index: git's file list or a gitignore-aware walk, filtered.

In a git work tree the list is `git ls-files --cached --others --exclude-standard`
(one call); elsewhere the tree is walked honouring every `.gitignore`. Either
list then passes mossen's rules (`DEFAULT_EXCLUDES`, `settings.exclude`,
`.mossenignore`, last match wins), the credential check, and one `lstat`.

Files the rules leave out are dropped silently (like git-ignored ones); files
left out for any other reason come back as `SkippedFile`s with a reason.
A `!` line in `.mossenignore` re-includes what mossen's own rules removed,
never what `.gitignore` removed and never a credential file.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from indexer.ignore import CREDENTIAL_REASON, DEFAULT_EXCLUDES, RuleSet, is_credential_path
from indexer.records import SkippedFile
from indexer.settings import IndexSettings

MOSSENIGNORE = ".mossenignore"
SYMLINK_REASON = "symbolic link (not followed)"
NESTED_REPO_REASON = "git submodule or nested repository (not indexed)"

_GIT_LIST = ("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
_GIT_TIMEOUT = 120.0
_RULES_UNREAD = "cannot be read, its rules were not applied"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file discovery found, with the stat fields that tell whether it changed."""

    path: str  # repo-relative, "/" separators
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class Discovery:
    """What discovery found: files to read and files left out with a reason."""

    files: tuple[Candidate, ...]  # sorted by path
    skipped: tuple[SkippedFile, ...]  # sorted by path, with a human reason


def discover_files(repo: Path, settings: IndexSettings) -> Discovery:
    """List the files of `repo` to index, and those left out with a reason."""
    root = os.fspath(repo)
    skipped: list[SkippedFile] = []
    rules = RuleSet(_rule_lines(root, settings, skipped))
    git_paths = _git_paths(root)
    if git_paths is None:
        files = _walk(root, rules, settings.max_file_bytes, skipped)
    else:
        files = []
        for rel in git_paths:
            if rel.endswith("/"):  # git lists an untracked nested repository as "dir/"
                if not rules.excludes(rel[:-1], is_dir=True):
                    skipped.append(SkippedFile(rel[:-1], NESTED_REPO_REASON))
                continue
            found = _examine(root, rel, rules, settings.max_file_bytes)
            if isinstance(found, Candidate):
                files.append(found)
            elif found is not None:
                skipped.append(found)
    files.sort(key=lambda c: c.path)
    skipped.sort(key=lambda s: s.path)
    return Discovery(tuple(files), tuple(skipped))


def format_size(n: int) -> str:
    """A byte count for people: "1.0 MiB", "512.0 KiB", "100 bytes"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


def _rule_lines(root: str, settings: IndexSettings, skipped: list[SkippedFile]) -> list[str]:
    """Defaults, then `settings.exclude`, then `.mossenignore`: later lines win."""
    lines = [*DEFAULT_EXCLUDES, *settings.exclude]
    path = os.path.join(root, MOSSENIGNORE)
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            with open(path, "rb") as handle:
                lines.extend(handle.read().decode("utf-8", "replace").splitlines())
    except FileNotFoundError:
        pass
    except OSError as exc:
        skipped.append(SkippedFile(MOSSENIGNORE, f"{_RULES_UNREAD}: {_os_reason(exc)}"))
    return lines


def _git_paths(root: str) -> list[str] | None:
    """Tracked plus untracked-not-ignored paths relative to `root`, or None outside git."""
    try:
        result = subprocess.run(
            _GIT_LIST, cwd=root, capture_output=True, timeout=_GIT_TIMEOUT, check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None  # git missing, root not a folder, or git hung
    if result.returncode != 0:
        return None  # not a work tree (or one git refuses): walk instead
    # Merge conflicts list a path once per stage; dict keeps the first, in order.
    names = dict.fromkeys(result.stdout.split(b"\0"))
    names.pop(b"", None)
    return [os.fsdecode(name) for name in names]


def _examine(root: str, rel: str, rules: RuleSet, max_bytes: int) -> Candidate | SkippedFile | None:
    """One path's fate: a candidate, skipped with a reason, or None when rules drop it."""
    if rules.excludes(rel):
        return None
    if not rel.isascii() and not _is_utf8(rel):
        # Kept out so later stages (JSON, SQLite) only ever see valid text paths.
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return SkippedFile(shown, "file name is not valid UTF-8")
    if is_credential_path(rel):
        return SkippedFile(rel, CREDENTIAL_REASON)
    try:
        st = os.lstat(os.path.join(root, rel))
    except FileNotFoundError:
        return None  # deleted but still tracked: nothing to index
    except OSError as exc:
        return SkippedFile(rel, f"cannot be read: {_os_reason(exc)}")
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if st.st_size > max_bytes:
            return SkippedFile(rel, f"larger than {format_size(max_bytes)}")
        return Candidate(rel, st.st_size, st.st_mtime_ns, st.st_ino)
    if stat.S_ISLNK(mode):
        return SkippedFile(rel, SYMLINK_REASON)
    if stat.S_ISDIR(mode):  # a gitlink: git lists a submodule as one entry
        return SkippedFile(rel, NESTED_REPO_REASON)
    return SkippedFile(rel, f"not a regular file ({file_kind(mode)})")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes became lone surrogates
        return False
    return True


def file_kind(mode: int) -> str:
    """A name for the kind of a non-regular file, from its stat mode."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "unknown kind"


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


_Layers = tuple[tuple[str, RuleSet], ...]  # (folder, its .gitignore rules), outermost first


def _walk(root: str, rules: RuleSet, max_bytes: int, skipped: list[SkippedFile]) -> list[Candidate]:
    """Walk `root` without git: honour nested .gitignore files, skip .git, follow no links."""
    files: list[Candidate] = []
    stack: list[tuple[str, _Layers]] = [("", ())]
    while stack:
        rel_dir, layers = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                entries = list(it)
        except OSError as exc:
            skipped.append(SkippedFile(rel_dir or ".", f"folder cannot be listed: {_os_reason(exc)}"))
            continue
        layers = _with_gitignore(entries, rel_dir, layers, skipped)
        for entry in entries:
            if entry.name == ".git":
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False  # let _examine's lstat report the error
            if _gitignored(layers, rel, is_dir):
                continue
            if is_dir:
                if not rules.prunes(rel):
                    stack.append((rel, layers))
                continue
            found = _examine(root, rel, rules, max_bytes)
            if isinstance(found, Candidate):
                files.append(found)
            elif found is not None:
                skipped.append(found)
    return files


def _with_gitignore(
    entries: list[os.DirEntry[str]], rel_dir: str, layers: _Layers, skipped: list[SkippedFile]
) -> _Layers:
    """Add this folder's .gitignore (a regular file, never a link) to the layers."""
    for entry in entries:
        if entry.name != ".gitignore":
            continue
        rel = f"{rel_dir}/.gitignore" if rel_dir else ".gitignore"
        try:
            if not entry.is_file(follow_symlinks=False):
                return layers
            with open(entry.path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError as exc:
            skipped.append(SkippedFile(rel, f"{_RULES_UNREAD}: {_os_reason(exc)}"))
            return layers
        return (*layers, (rel_dir, RuleSet(text.splitlines())))
    return layers


def _gitignored(layers: _Layers, rel: str, is_dir: bool) -> bool:
    """Git's precedence: the deepest .gitignore with a matching rule decides."""
    for base, rule_set in reversed(layers):
        local = rel[len(base) + 1 :] if base else rel
        verdict = rule_set.verdict(local, is_dir)
        if verdict is not None:
            return verdict
    return False
