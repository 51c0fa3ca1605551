"""File tools: read_file, list_files, glob, grep (reading) and edit_file, write_file (editing).

Every path goes through the Workspace when planned and again when run, so a
link swapped in between is caught. Listing and grep see the files the indexer
would index: .gitignore, .mossenignore and mossen's exclusions apply, and
credential files never appear.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from typing import Any, Callable

from mossen.agent.journal import EditJournal
from mossen.agent.records import Action, ToolFailure, ToolResult
from mossen.agent.tools.args import capped, int_arg, text_arg
from mossen.agent.workspace import Target, Workspace
from mossen.providers.base import ToolSpec

MAX_READ_BYTES = 256 * 1024  # a file larger than this is read by line ranges only
MAX_READ_LINES = 600
MAX_OUTPUT = 24_000  # characters of tool output sent back to the model
MAX_LIST = 400
MAX_GREP = 200

FileLister = Callable[[], list[str]]  # the repository's files, ignore rules applied


def _schema(required: list[str], **props: tuple[str, str]) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": t, "description": d} for k, (t, d) in props.items()},
            "required": required, "additionalProperties": False}


def _read_text(target: Target) -> str:
    if not target.path.is_file():
        raise ToolFailure(f"{target.rel}: no such file")
    data = target.path.read_bytes()
    if b"\0" in data[:8192]:
        raise ToolFailure(f"{target.rel}: a binary file")
    return data.decode("utf-8", errors="replace")


def _write_text(target: Target, text: str) -> None:
    target.path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target.path, flags, 0o644)  # O_NOFOLLOW: a link swapped in since the check is not followed
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)


def unified_diff(rel: str, before: str, after: str) -> str:
    """A unified diff of one file, as shown for approval and after an edit."""
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"a/{rel}", f"b/{rel}", n=3)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


class ReadFile:
    """read_file(path, start_line, end_line): numbered lines of a text file."""

    effect = "read"
    spec = ToolSpec("read_file", "Read a text file of the repository, with line numbers. Use start_line/end_line "
                    f"for large files (at most {MAX_READ_LINES} lines at a time).",
                    _schema(["path"], path=("string", "repo-relative path"),
                            start_line=("integer", "first line, 1-based (default 1)"),
                            end_line=("integer", "last line, inclusive")))

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def plan(self, arguments: dict[str, Any]) -> Action:
        target = self.workspace.target(text_arg(arguments, "path"))
        return Action("read_file", "read", (target.rel,), protected=(target.rel,) if target.protected else ())

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        target = self.workspace.target(text_arg(arguments, "path"))
        start = int_arg(arguments, "start_line", 1, 1, 10**9)
        text = _read_text(target)
        lines = text.splitlines()
        end = int_arg(arguments, "end_line", min(len(lines), start + MAX_READ_LINES - 1), start, 10**9)
        end = min(end, len(lines), start + MAX_READ_LINES - 1)
        body = "\n".join(f"{n:>6} | {lines[n - 1]}" for n in range(start, end + 1))
        more = f"\n[lines {end + 1}-{len(lines)} not shown; ask for them with start_line]" if end < len(lines) else ""
        return ToolResult(capped(f"{target.rel} ({len(lines)} lines)\n{body}{more}", MAX_OUTPUT))


class ListFiles:
    """list_files(path): the files under a folder, as the index sees them."""

    effect = "read"
    spec = ToolSpec("list_files", "List the repository's files under a folder (ignored and credential files left out).",
                    _schema([], path=("string", "repo-relative folder, default the root")))

    def __init__(self, workspace: Workspace, files: FileLister) -> None:
        self.workspace, self.files = workspace, files

    def plan(self, arguments: dict[str, Any]) -> Action:
        target = self.workspace.target(text_arg(arguments, "path", "."))
        return Action("list_files", "read", (target.rel,))

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        folder = self.workspace.target(text_arg(arguments, "path", ".")).rel
        prefix = "" if folder == "." else folder.rstrip("/") + "/"
        found = [f for f in self.files() if f.startswith(prefix)]
        return ToolResult(_listing(found, f"under {folder}"))


class Glob:
    """glob(pattern): files whose repo-relative path matches a glob."""

    effect = "read"
    spec = ToolSpec("glob", "Find files by a glob on their repo-relative path, e.g. `src/**/*.py` or `*test*`.",
                    _schema(["pattern"], pattern=("string", "glob; ** crosses folders")))

    def __init__(self, files: FileLister) -> None:
        self.files = files

    def plan(self, arguments: dict[str, Any]) -> Action:
        text_arg(arguments, "pattern")
        return Action("glob", "read")

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        pattern = text_arg(arguments, "pattern")
        regex = _glob_regex(pattern)
        found = [f for f in self.files() if regex.fullmatch(f) or fnmatch.fnmatchcase(f.rsplit("/", 1)[-1], pattern)]
        return ToolResult(_listing(found, f"matching {pattern}"))


class Grep:
    """grep(pattern, glob): regex search over the working tree's files."""

    effect = "read"
    spec = ToolSpec("grep", "Search the repository's files for a regular expression (Python syntax); "
                    "returns path:line: text.",
                    _schema(["pattern"], pattern=("string", "regular expression"),
                            glob=("string", "only files whose path matches this glob"),
                            ignore_case=("boolean", "case-insensitive")))

    def __init__(self, workspace: Workspace, files: FileLister) -> None:
        self.workspace, self.files = workspace, files

    def plan(self, arguments: dict[str, Any]) -> Action:
        self._regex(arguments)
        return Action("grep", "read")

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        regex = self._regex(arguments)
        only = arguments.get("glob")
        glob = _glob_regex(only) if isinstance(only, str) and only else None
        hits: list[str] = []
        for rel in self.files():
            if glob is not None and not (glob.fullmatch(rel) or fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], only)):
                continue
            try:
                target = self.workspace.target(rel)
                if target.protected:  # only read_file with a rule naming it opens it
                    continue
                text = _read_text(target)
            except (ToolFailure, OSError):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{rel}:{number}: {line.strip()[:300]}")
                    if len(hits) >= MAX_GREP:
                        return ToolResult(capped("\n".join(hits) + f"\n[stopped at {MAX_GREP} matches]", MAX_OUTPUT))
        return ToolResult(capped("\n".join(hits), MAX_OUTPUT) if hits else "no matches")

    @staticmethod
    def _regex(arguments: dict[str, Any]) -> re.Pattern[str]:
        pattern = text_arg(arguments, "pattern")
        try:
            return re.compile(pattern, re.IGNORECASE if arguments.get("ignore_case") else 0)
        except re.error as exc:
            raise ToolFailure(f"invalid regular expression: {exc}") from exc


class EditFile:
    """edit_file(path, old, new): replace text that occurs exactly once."""

    effect = "edit"
    spec = ToolSpec("edit_file", "Replace an exact piece of text in a file. `old` must occur exactly once: include "
                    "enough surrounding lines to make it unique.",
                    _schema(["path", "old", "new"], path=("string", "repo-relative path"),
                            old=("string", "the exact text to replace"), new=("string", "its replacement")))

    def __init__(self, workspace: Workspace, journal: EditJournal) -> None:
        self.workspace, self.journal = workspace, journal

    def plan(self, arguments: dict[str, Any]) -> Action:
        target = self.workspace.target(text_arg(arguments, "path"))
        try:
            target, before, after = self._change(arguments)
        except ToolFailure:
            if target.protected:
                return _unpreviewed(self.spec.name, target)
            raise
        return Action("edit_file", "edit", (target.rel,), preview=unified_diff(target.rel, before, after),
                      protected=(target.rel,) if target.protected else ())

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        target, before, after = self._change(arguments)
        self.journal.before_write(target.path, target.rel)
        _write_text(target, after)
        return ToolResult(f"edited {target.rel}\n{unified_diff(target.rel, before, after)}", (target.rel,))

    def _change(self, arguments: dict[str, Any]) -> tuple[Target, str, str]:
        target = self.workspace.target(text_arg(arguments, "path"))
        old, new = text_arg(arguments, "old"), text_arg(arguments, "new", allow_empty=True)
        before = _read_text(target)
        count = before.count(old)
        if count != 1:
            raise ToolFailure(f"{target.rel}: `old` occurs {count} times; it must occur exactly once"
                              + ("" if count else " (read the file first and copy the text exactly)"))
        return target, before, before.replace(old, new, 1)


class WriteFile:
    """write_file(path, content): create or overwrite a whole file."""

    effect = "edit"
    spec = ToolSpec("write_file", "Create a file, or overwrite one, with the given content.",
                    _schema(["path", "content"], path=("string", "repo-relative path"),
                            content=("string", "the whole new content")))

    def __init__(self, workspace: Workspace, journal: EditJournal) -> None:
        self.workspace, self.journal = workspace, journal

    def plan(self, arguments: dict[str, Any]) -> Action:
        target = self.workspace.target(text_arg(arguments, "path"))
        content = text_arg(arguments, "content", allow_empty=True)
        try:
            before = _read_text(target) if target.path.is_file() else ""
        except ToolFailure:
            if target.protected:
                return _unpreviewed(self.spec.name, target)
            raise
        return Action("write_file", "edit", (target.rel,), preview=unified_diff(target.rel, before, content),
                      protected=(target.rel,) if target.protected else ())

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        target = self.workspace.target(text_arg(arguments, "path"))
        content = text_arg(arguments, "content", allow_empty=True)
        if target.path.is_dir():
            raise ToolFailure(f"{target.rel} is a folder")
        before = _read_text(target) if target.path.is_file() else ""
        self.journal.before_write(target.path, target.rel)
        _write_text(target, content)
        return ToolResult(f"wrote {target.rel} ({len(content.splitlines())} lines)\n"
                          f"{unified_diff(target.rel, before, content)}", (target.rel,))


def _unpreviewed(tool: str, target: Target) -> Action:
    """An edit of a protected file that cannot be previewed (`old` not found, a binary file).

    It is judged like any edit of that file: an error here would tell the model
    something about a content it may not read (whether `old` occurs in .env).
    """
    return Action(tool, "edit", (target.rel,), preview=f"({target.rel}: {target.protected}; no preview)",
                  protected=(target.rel,))


def _listing(found: list[str], what: str) -> str:
    if not found:
        return f"no files {what}"
    shown = "\n".join(found[:MAX_LIST])
    return shown + (f"\n[{len(found) - MAX_LIST} more files {what}]" if len(found) > MAX_LIST else "")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob on repo-relative paths: `*` within a folder, `**` across folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
