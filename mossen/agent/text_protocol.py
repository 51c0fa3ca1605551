"""Tool calls as text, for models without native tool calling (small local models).

The system prompt describes each tool and asks for calls written as

    <tool_call>
    {"name": "read_file", "arguments": {"path": "src/app.py"}}
    </tool_call>

Parsing is strict: the block must hold exactly one JSON object with a string
`name` and an object `arguments`; anything else is a malformed call, reported
back to the model and never run. An opening tag without its closing tag (the
answer was cut off) is malformed too. Text outside the blocks is the answer.
"""

from __future__ import annotations

import json
import re

from mossen.providers.base import MalformedToolCall, ToolCall, ToolCallEvent, ToolSpec

OPEN, CLOSE = "<tool_call>", "</tool_call>"
TOOL_RESULT_OPEN = "<tool_result "
_BLOCK = re.compile(re.escape(OPEN) + r"(.*?)" + re.escape(CLOSE), re.DOTALL)


def describe_tools(specs: tuple[ToolSpec, ...]) -> str:
    """The part of the system prompt that teaches the text protocol."""
    lines = ["# Tools", "",
             "To use a tool, write a block exactly like this, with one JSON object inside, and then stop:", "",
             OPEN, '{"name": "TOOL", "arguments": {...}}', CLOSE, "",
             "The result comes back in the next message. Available tools:", ""]
    for spec in specs:
        lines.append(f"- {spec.name}: {spec.description}")
        lines.append(f"  arguments (JSON schema): {json.dumps(spec.parameters.get('properties', {}))}")
    return "\n".join(lines)


def parse_text_calls(text: str, first_id: int = 0) -> tuple[str, list[ToolCallEvent | MalformedToolCall]]:
    """The answer text without the blocks, and each block as a call or as why it is malformed."""
    calls: list[ToolCallEvent | MalformedToolCall] = []
    for number, match in enumerate(_BLOCK.finditer(text), first_id):
        calls.append(_parse_block(match.group(1), f"text_call_{number}"))
    visible = _BLOCK.sub("", text)
    if OPEN in visible:
        cut = visible[visible.index(OPEN) + len(OPEN):]
        calls.append(MalformedToolCall(f"text_call_{first_id + len(calls)}", "", cut.strip(),
                                       f"the {OPEN} block is not closed with {CLOSE}"))
        visible = visible[: visible.index(OPEN)]
    return visible.strip(), calls


def _parse_block(body: str, call_id: str) -> ToolCallEvent | MalformedToolCall:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return MalformedToolCall(call_id, "", body.strip(), f"the block is not one JSON object: {exc}")
    if not isinstance(data, dict) or set(data) - {"name", "arguments"}:
        return MalformedToolCall(call_id, "", body.strip(), 'the object must have only "name" and "arguments"')
    name, arguments = data.get("name"), data.get("arguments", {})
    if not isinstance(name, str) or not name:
        return MalformedToolCall(call_id, "", body.strip(), '"name" must be a tool name')
    if not isinstance(arguments, dict):
        return MalformedToolCall(call_id, name, body.strip(), '"arguments" must be a JSON object')
    return ToolCallEvent(ToolCall(call_id, name, arguments))


def result_message(name: str, call_id: str, output: str) -> str:
    """A tool result as the user message a text-protocol model reads next."""
    return f'{TOOL_RESULT_OPEN}name="{name}" id="{call_id}">\n{output}\n</tool_result>'
