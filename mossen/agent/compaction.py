"""Compaction: when history outgrows its share of the window, the model summarises older turns.

The working set (files in play) is kept outside the summary: it is taken from
the tool calls themselves, not from what the model chose to remember, and its
files are read afresh into later turns' context.
"""

from __future__ import annotations

from typing import Sequence

from mossen.ask import collect
from mossen.budget import TokenCounter
from mossen.prompts import load_prompt
from mossen.providers.base import ChatRequest, Message, Provider
from mossen.providers.retry import stream_with_retries

PATH_ARGUMENTS = ("path",)
HISTORY_SHARE = 0.5  # of what the window leaves after the answer and the system prompt
KEEP_MESSAGES = 6  # the most recent messages stay verbatim
MAX_TRANSCRIPT_LINE = 2000  # characters kept of each message in the text to summarise


def history_tokens(history: Sequence[Message], counter: TokenCounter) -> int:
    """Tokens the history takes."""
    return sum(counter.count(m.content) + sum(counter.count(str(c.arguments)) for c in m.tool_calls)
               for m in history)


def needs_compaction(history: Sequence[Message], counter: TokenCounter, room: int) -> bool:
    """Whether the history has outgrown its share of `room` (window - answer - system prompt)."""
    return len(history) > KEEP_MESSAGES and history_tokens(history, counter) > room * HISTORY_SHARE


def working_set(history: Sequence[Message], pinned: Sequence[str] = ()) -> list[str]:
    """Files in play: pinned ones, then those the tools read or changed, most recent first."""
    seen: dict[str, None] = dict.fromkeys(pinned)
    for message in reversed(history):
        for call in message.tool_calls:
            for key in PATH_ARGUMENTS:
                value = call.arguments.get(key)
                if isinstance(value, str) and value and value != ".":
                    seen.setdefault(value, None)
    return list(seen)


def summarise(provider: Provider, history: Sequence[Message], max_output: int) -> str:
    """The model's summary of `history` (raises ProviderError when it cannot be had)."""
    transcript = "\n\n".join(f"[{m.role}{' ' + m.name if m.name else ''}] {m.content[:MAX_TRANSCRIPT_LINE]}"
                             + "".join(f"\n  -> {c.name}({c.arguments})" for c in m.tool_calls)
                             for m in history)
    request = ChatRequest(load_prompt("compact.md"), (Message("user", transcript),), max_output=max_output)
    answer = collect(stream_with_retries(provider, request))
    return answer.text.strip() or "(the model gave no summary)"
