"""Typed records of the agent: what a tool call would do, what it did, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Effect = Literal["read", "edit", "exec"]
Status = Literal["executed", "refused", "needs_approval", "error"]


class ToolFailure(Exception):
    """A tool call that cannot go ahead; the message goes back to the model."""

    status: Status = "error"


class ToolRefused(ToolFailure):
    """The call is not allowed (a path outside the repository, a credential file, a deny rule)."""

    status: Status = "refused"


class ProtectedPath(ToolRefused):
    """The path is a credential file or mossen's own config: refused unless a rule allows it by name."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Action:
    """What a tool call would do, known before it runs: checked by permissions, shown for approval."""

    tool: str
    effect: Effect
    paths: tuple[str, ...] = ()  # repo-relative paths it reads or writes
    command: str | None = None  # run_command's shell command
    preview: str = ""  # a diff for edits, the command for exec; shown when asking
    protected: tuple[str, ...] = ()  # paths that only an explicit allow rule opens


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The output of a tool that ran, and the files it changed."""

    output: str
    changed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """One tool call as reported by `chat --json`: what was asked, whether it ran, what came out."""

    call_id: str
    tool: str
    arguments: dict[str, Any]
    status: Status
    output: str
    changed: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """The `tool_calls` element of `mossen chat -p --json`."""
        return {"tool": self.tool, "arguments": self.arguments, "status": self.status, "output": self.output}
