"""The agent's tools: one small protocol, one module per family of tools.

A tool first *plans* a call (validates its arguments, resolves its paths,
builds a preview) so permissions can judge the `Action` before anything
happens; only then is it *run*.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from mossen.agent.records import Action, Effect, ToolResult
from mossen.providers.base import ToolSpec


class Tool(Protocol):
    """One tool the model may call."""

    spec: ToolSpec
    effect: Effect

    def plan(self, arguments: dict[str, Any]) -> Action:
        """What the call would do; ToolFailure for bad arguments, ToolRefused for paths outside the repo."""
        ...

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        """Do it (re-checking paths at the moment of use); ToolFailure when it cannot."""
        ...


class ToolBox:
    """The tools offered to the model, by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = {t.spec.name: t for t in tools}

    def specs(self) -> tuple[ToolSpec, ...]:
        """Every tool's spec, for the request."""
        return tuple(t.spec for t in self._tools.values())

    def get(self, name: str) -> Tool | None:
        """The tool called `name`, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """The tool names."""
        return list(self._tools)
