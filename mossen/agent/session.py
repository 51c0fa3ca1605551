"""Sessions: every message saved as it happens, one JSON object per line, resumable.

    {"type": "meta", "format": 1, "id": "...", "repo": "/abs/repo", "model": "...", "created": 1700000000.0}
    {"type": "message", "role": "user", "content": "...", "tool_calls": [], "tool_call_id": null, "name": null}
    {"type": "compaction", "summary": "...", "working_set": ["a.py"], "keep": 6}

A compaction replaces every message before the last `keep` ones with its
summary. A line cut short by a crash is ignored when the session is read back.
Sessions live in `<sessions dir>/<repo key>/`, the repo key as for indexes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mossen.errors import UsageError
from mossen.ask import is_context_message
from mossen.providers.base import Message, ToolCall

FORMAT = 1


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A saved session, as /sessions lists it."""

    id: str
    path: Path
    model: str
    created: float
    updated: float
    messages: int
    title: str  # the first thing the user asked


def default_sessions_root() -> Path:
    """`$XDG_DATA_HOME/mossen/sessions`."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "mossen" / "sessions"


def summary_message(summary: str, working_set: list[str]) -> Message:
    """The message that stands for compacted history."""
    files = f"\n\nFiles in play: {', '.join(working_set)}" if working_set else ""
    return Message("user", f"[Summary of the earlier conversation]\n{summary}{files}")


class Session:
    """One conversation: its live history, appended to its file as it grows."""

    def __init__(self, path: Path, meta: dict[str, Any], messages: list[Message], working_set: list[str],
                 torn_tail: bool = False) -> None:
        self.path, self.meta = path, meta
        self.messages = messages
        self.working_set = working_set
        self._torn_tail = torn_tail  # the file ends in a line cut short by a crash

    @property
    def id(self) -> str:
        """The session's id."""
        return str(self.meta["id"])

    def append(self, message: Message) -> None:
        """Add a message to the history and to the file, at once."""
        self.messages.append(message)
        self._write({"type": "message", **asdict(message)})

    def compact(self, summary: str, working_set: list[str], keep: int) -> None:
        """Replace all but the last `keep` messages with a summary; the working set is kept beside it."""
        kept = self.messages[len(self.messages) - keep:] if keep else []
        self.messages = [summary_message(summary, working_set), *kept]
        self.working_set = working_set
        self._write({"type": "compaction", "summary": summary, "working_set": working_set, "keep": keep})

    def clear(self) -> None:
        """Forget the history (the file keeps it; a resume starts after the clear)."""
        self.messages = []
        self.working_set = []
        self._write({"type": "clear"})

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        if self._torn_tail:  # end the cut line first, or this record would be glued to it and lost
            line, self._torn_tail = "\n" + line, False
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()


class SessionStore:
    """The sessions of one repository."""

    def __init__(self, root: Path, repo_key: str) -> None:
        self.folder = root / repo_key

    def new(self, repo: Path, model: str) -> Session:
        """A new, empty session."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        meta = {"type": "meta", "format": FORMAT, "id": f"{stamp}-{secrets.token_hex(3)}", "repo": str(repo),
                "model": model, "created": time.time()}
        path = self.folder / f"{meta['id']}.jsonl"
        path.write_text(json.dumps(meta) + "\n", encoding="utf-8")
        return Session(path, meta, [], [])

    def list(self) -> list[SessionInfo]:
        """Saved sessions, most recently used first."""
        infos = [info for path in self.folder.glob("*.jsonl") if (info := _info(path)) is not None]
        return sorted(infos, key=lambda i: i.updated, reverse=True)

    def open(self, ident: str) -> Session:
        """The session whose id is or starts with `ident`."""
        matches = [i for i in self.list() if i.id == ident] or [i for i in self.list() if i.id.startswith(ident)]
        if len(matches) != 1:
            known = ", ".join(i.id for i in self.list()[:5]) or "none yet"
            raise UsageError(f"no single session matches {ident!r} (recent: {known})")
        return load_session(matches[0].path)

    def last(self) -> Session | None:
        """The most recently used session, if any."""
        infos = self.list()
        return load_session(infos[0].path) if infos else None


def load_session(path: Path) -> Session:
    """Read a session back, replaying compactions and clears."""
    meta: dict[str, Any] = {}
    messages: list[Message] = []
    working_set: list[str] = []
    for record in _records(path):
        kind = record.get("type")
        if kind == "meta":
            meta = record
        elif kind == "message":
            message = _message(record)
            if message is not None:
                messages.append(message)
        elif kind == "compaction":
            keep = int(record.get("keep", 0))
            working_set = list(record.get("working_set", []))
            kept = messages[len(messages) - keep:] if keep else []
            messages = [summary_message(str(record.get("summary", "")), working_set), *kept]
        elif kind == "clear":
            messages, working_set = [], []
    if not meta:
        raise UsageError(f"{path} is not a mossen session")
    return Session(path, meta, messages, working_set, torn_tail=not _ends_a_line(path))


def _ends_a_line(path: Path) -> bool:
    """Whether the file's last line is whole (a crash can cut it short)."""
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        if not size:
            return True
        file.seek(size - 1)
        return file.read(1) == b"\n"


def _records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if isinstance(record, dict):
            records.append(record)
    return records


def _message(record: dict[str, Any]) -> Message | None:
    """A message record as a Message; None for a record that is not a whole message."""
    try:
        return _parse_message(record)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _parse_message(record: dict[str, Any]) -> Message:
    calls = tuple(ToolCall(str(c["id"]), str(c["name"]), dict(c.get("arguments", {})))
                  for c in record.get("tool_calls") or [])
    return Message(record["role"], str(record.get("content", "")), calls, record.get("tool_call_id"),
                   record.get("name"))


def _info(path: Path) -> SessionInfo | None:
    try:
        records = _records(path)
        updated = path.stat().st_mtime
    except OSError:
        return None
    if not records or records[0].get("type") != "meta":
        return None
    meta = records[0]
    users = [r for r in records if r.get("type") == "message" and r.get("role") == "user"
             and not str(r.get("content", "")).startswith("[Summary") and not is_context_message(str(r.get("content")))]
    lines = str(users[0]["content"]).splitlines() if users else []
    title = lines[0][:80] if lines else ""  # an empty first question (`chat -p ""`) must not break the listing
    return SessionInfo(str(meta["id"]), path, str(meta.get("model", "")), float(meta.get("created", 0.0)), updated,
                       sum(r.get("type") == "message" for r in records), title)
