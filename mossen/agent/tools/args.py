"""Checking a tool call's arguments against what the tool needs."""

from __future__ import annotations

from typing import Any

from mossen.agent.records import ToolFailure


def text_arg(arguments: dict[str, Any], name: str, default: str | None = None, allow_empty: bool = False) -> str:
    """A string argument; ToolFailure when missing or of another type."""
    value = arguments.get(name, default)
    if value is None:
        raise ToolFailure(f"missing argument `{name}`")
    if not isinstance(value, str):
        raise ToolFailure(f"argument `{name}` must be a string")
    if not allow_empty and not value:
        raise ToolFailure(f"argument `{name}` must not be empty")
    return value


def int_arg(arguments: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole-number argument within [low, high]; ToolFailure otherwise."""
    value = arguments.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ToolFailure(f"argument `{name}` must be a whole number")
    if not low <= int(value) <= high:
        raise ToolFailure(f"argument `{name}` must be between {low} and {high}")
    return int(value)


def capped(text: str, limit: int) -> str:
    """`text`, or its head and tail with a note of what was cut when it is longer than `limit`."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-limit // 3:]
    return f"{head}\n… [{len(text) - len(head) - len(tail)} characters cut] …\n{tail}"
