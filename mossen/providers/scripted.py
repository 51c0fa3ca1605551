"""A FAKE provider for tests and demos: replays scripted turns and records every request.

It stands at the provider seam only; everything behind it (retrieval, budget,
tools, permissions) is real. Select it with `--model scripted:PATH`, where PATH
is a JSON script:

    {"window": 8192, "turns": [
        [{"text": "Let me look."}, {"tool": "read_file", "arguments": {"path": "a.py"}}],
        [{"text": "Done."}]
    ]}

Event forms: {"text"}, {"tool", "arguments"}, {"malformed", "reason"} (a tool
call whose arguments are broken), {"cut": true} (the stream breaks there).
Each request received is appended as JSON to PATH + ".requests.jsonl".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Mapping

from mossen.errors import StreamCut, UsageError
from mossen.providers.base import (
    ChatRequest, Finished, MalformedToolCall, ModelLimits, ModelOptions, StreamEvent, TextDelta, ToolCall,
    ToolCallEvent, Usage,
)


class ScriptedProvider:
    """A fake model: each `stream` call plays the next scripted turn."""

    def __init__(self, turns: list[list[StreamEvent]], window: int = 8192, max_output: int = 512,
                 name: str = "scripted:fake", log: Path | None = None) -> None:
        self.name, self.endpoint = name, "file://scripted"
        self.turns = list(turns)
        self.requests: list[ChatRequest] = []
        self._limits = ModelLimits(window, max_output)
        self._log = log

    def limits(self) -> ModelLimits:
        """The scripted window."""
        return self._limits

    def count_tokens(self, text: str) -> int | None:
        """None: the caller estimates."""
        return None

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request as the fake records it."""
        return asdict(request)

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Record the request, then play the next turn (a plain stop when the script is used up)."""
        self.requests.append(request)
        if self._log is not None:
            with self._log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(self.payload(request)) + "\n")
        turn = self.turns.pop(0) if self.turns else [TextDelta("(the script has no more turns)")]
        calls = False
        for event in turn:
            if isinstance(event, StreamCut):
                raise event
            calls = calls or isinstance(event, (ToolCallEvent, MalformedToolCall))
            yield event
        yield Usage(sum(len(m.content) for m in request.messages) // 4, 10)
        yield Finished("tool_calls" if calls else "stop")


def parse_event(item: Mapping[str, Any], number: int) -> StreamEvent | StreamCut:
    """One scripted event from its JSON form."""
    if "text" in item:
        return TextDelta(str(item["text"]))
    if "tool" in item:
        return ToolCallEvent(ToolCall(str(item.get("id", f"call_{number}")), str(item["tool"]),
                                      dict(item.get("arguments", {}))))
    if "malformed" in item:
        return MalformedToolCall(f"call_{number}", str(item["malformed"]), str(item.get("raw", "{")),
                                 str(item.get("reason", "arguments are not valid JSON")))
    if item.get("cut"):
        return StreamCut("the scripted stream was cut", "try again")
    raise UsageError(f"scripted event #{number} has none of text, tool, malformed, cut: {dict(item)}")


def create(model: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> ScriptedProvider:
    """`scripted:PATH`: the script at PATH."""
    path = Path(model)
    try:
        script = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the script {path}: {exc}") from exc
    numbers = iter(range(1, 1_000_000))  # call ids numbered across the whole script: never repeated in a turn
    turns = [[parse_event(e, next(numbers)) for e in turn] for turn in script.get("turns", [])]
    return ScriptedProvider(turns, int(script.get("window", 8192)), int(script.get("max_output", 512)),  # type: ignore[arg-type]
                            f"scripted:{model}", path.with_name(path.name + ".requests.jsonl"))
