"""The model seam: chat records, stream events, and the one protocol every provider implements.

A provider streams one chat request as events: text as it arrives, complete
tool calls (never a half-received one), usage, and how the turn finished.
Errors are `mossen.errors.ProviderError` subclasses; `retry.py` decides which
are worth another try.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal, Protocol

Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call the model asked for; `arguments` is parsed JSON."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of the conversation (the system prompt travels in `ChatRequest.system`)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant turns that asked for tools
    tool_call_id: str | None = None  # tool results: the call they answer
    name: str | None = None  # tool results: the tool's name


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: a name, what it does, and its JSON-schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What is sent to a model. `stable_prefix` marks how many leading messages
    (after the system prompt) stay the same from call to call, for prompt caching."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_output: int = 1024
    temperature: float | None = None
    stable_prefix: int = 0


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A tool call whose name and arguments arrived whole and parsed."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class MalformedToolCall:
    """A tool call that arrived whole but cannot be run (bad JSON arguments, no name)."""

    id: str
    name: str
    raw_arguments: str
    reason: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the provider reports for one request."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.cached_input_tokens + other.cached_input_tokens)


@dataclass(frozen=True, slots=True)
class Finished:
    """The stream ended normally; `reason` is stop, length or tool_calls."""

    reason: str


StreamEvent = TextDelta | ToolCallEvent | MalformedToolCall | Usage | Finished


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """How many tokens a model takes in (the whole window) and gives out per answer."""

    context_window: int
    max_output: int


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """Per-model settings from config; None means the provider's or server's own."""

    temperature: float | None = None
    context_length: int | None = None
    max_output: int | None = None
    timeout: float = 120.0
    tools: str = "native"  # or "text": the model gets the text tool protocol
    streaming: bool = True  # False: whole replies, for servers that cannot stream tool calls
    price_input: float | None = None  # USD per million tokens
    price_output: float | None = None


class Provider(Protocol):
    """A chat model behind some endpoint. Adding a provider = one module with one such class."""

    name: str  # "provider:model", as the user wrote it
    endpoint: str  # the URL requests go to; privacy checks it before any request is made

    def limits(self) -> ModelLimits:
        """The model's window and output cap (may ask the server once)."""
        ...

    def count_tokens(self, text: str) -> int | None:
        """The model's own token count for `text`, or None when the provider cannot count locally."""
        ...

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request body exactly as `stream` would send it (for --show-request)."""
        ...

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Send `request` and yield its events as they arrive."""
        ...
