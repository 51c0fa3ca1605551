"""Read a line range of one repository file, for a client following up on a search result.

Only files the indexer itself would read are served: the path must be one that
discovery lists (git's file list or the gitignore-aware walk, `.mossenignore`,
`index.exclude`, never a credential file, never a symbolic link), and it is
read the indexer's way (no link followed at any step, binary refused). So a
path outside the repository, `..`, a link pointing out, a gitignored `.env` or
`id_rsa` are all refused with a reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from indexer.discover import discover_files
from indexer.ignore import is_credential_path
from indexer.reading import read_source
from indexer.records import SkippedFile
from indexer.settings import IndexSettings
from mossen.errors import UsageError

MAX_LINES = 600  # one read returns at most this many lines; ask again for the rest


@dataclass(frozen=True, slots=True)
class LineRange:
    """Lines `start_line`..`end_line` (1-based, inclusive) of a repo-relative file."""

    path: str
    start_line: int
    end_line: int
    total_lines: int
    language: str
    text: str

    def to_json(self) -> dict[str, object]:
        """The range as a JSON object."""
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "total_lines": self.total_lines, "language": self.language, "text": self.text}


def repo_relative(repo: Path, path: str) -> str:
    """`path` as a repo-relative "/" path; UsageError when it points outside the repository."""
    if not isinstance(path, str) or not path.strip() or "\0" in path:
        raise UsageError("a path relative to the repository root is required")
    given = path.strip().replace("\\", "/")
    if given.startswith("~"):
        raise UsageError(f"{path}: outside the repository; give a path relative to the repository root")
    if PurePosixPath(given).is_absolute():
        absolute = os.path.normpath(given)
        roots = [r for r in (os.path.realpath(repo), os.path.abspath(repo))
                 if absolute == r or absolute.startswith(r + os.sep)]
        if not roots:
            raise UsageError(f"{path}: outside the repository {os.path.realpath(repo)}")
        given = os.path.relpath(absolute, roots[0])
    parts = [p for p in PurePosixPath(given).parts if p != "."]
    if ".." in parts:
        raise UsageError(f"{path}: `..` is refused; paths must stay inside the repository")
    if not parts:
        raise UsageError(f"{path}: a file is required, not the repository root")
    return "/".join(parts)


def read_lines(repo: Path, settings: IndexSettings, path: str, start_line: int = 1,
               end_line: int | None = None) -> LineRange:
    """Lines of one file the indexer would read; UsageError saying why when it is refused."""
    rel = repo_relative(repo, path)
    if is_credential_path(rel):
        raise UsageError(f"{rel}: a credential file; mossen never reads it")
    discovery = discover_files(repo, settings)
    candidate = next((c for c in discovery.files if c.path == rel), None)
    if candidate is None:
        skipped = next((s for s in discovery.skipped if s.path == rel), None)
        reason = skipped.reason if skipped else "not a file mossen indexes (missing, ignored or excluded)"
        raise UsageError(f"{rel}: {reason}")
    source = read_source(repo, candidate, settings.max_file_bytes)
    if isinstance(source, SkippedFile):
        raise UsageError(f"{rel}: {source.reason}")
    lines = source.text.splitlines()
    if start_line < 1 or start_line > max(len(lines), 1):
        raise UsageError(f"{rel} has {len(lines)} lines; start_line {start_line} is outside them")
    last = min(len(lines), start_line + MAX_LINES - 1, end_line if end_line is not None else len(lines))
    if last < start_line and lines:
        raise UsageError(f"end_line {end_line} is before start_line {start_line}")
    text = "\n".join(lines[start_line - 1:last])
    return LineRange(rel, start_line, max(last, start_line - 1), len(lines), source.language, text)
