"""Anthropic's Messages API through the official `anthropic` client, with prompt caching.

The stable prefix (system prompt and the retrieved context, which lead every
request) carries `cache_control` breakpoints, so a follow-up pays for it at the
cached rate. Token counting is left local: the counting endpoint would receive
candidate code that is never sent with a question.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import anthropic

from mossen.errors import AuthError, RateLimited, ServerError, StreamCut
from mossen.providers.base import (
    ChatRequest, Finished, Message, ModelLimits, ModelOptions, StreamEvent, TextDelta, Usage,
)
from mossen.providers.http_errors import HTTP_ERRORS, Hints, transport_error
from mossen.providers.locality import is_local_endpoint
from mossen.providers.openai_compat import tool_call_event

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_WINDOW = 200_000
DEFAULT_MAX_OUTPUT = 4096
CACHE = {"type": "ephemeral"}


class Anthropic:
    """A Claude model."""

    def __init__(self, model: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> None:
        self.model, self.options = model, options
        self.name = f"anthropic:{model}"
        self.endpoint = (base_url or env.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._where = f"Anthropic at {self.endpoint}"
        key = env.get("ANTHROPIC_API_KEY")
        self._missing_key = not key and not is_local_endpoint(self.endpoint)
        # A proxy from the environment (HTTP_PROXY) would carry a local model's unredacted prompt off the machine.
        direct = anthropic.DefaultHttpxClient(trust_env=False) if is_local_endpoint(self.endpoint) else None
        self._client = anthropic.Anthropic(api_key=key or "not-needed", base_url=self.endpoint, max_retries=0,
                                           timeout=options.timeout, http_client=direct)
        self._hints = Hints(
            unreachable="check the network, or ANTHROPIC_BASE_URL (or [anthropic] base_url)",
            auth="set ANTHROPIC_API_KEY to a valid key (console.anthropic.com)",
            unknown_model="check the model name, e.g. anthropic:claude-sonnet-4-5",
        )

    def limits(self) -> ModelLimits:
        """Claude's 200k window unless config says otherwise."""
        window = self.options.context_length or DEFAULT_WINDOW
        return ModelLimits(window, self.options.max_output or DEFAULT_MAX_OUTPUT)

    def count_tokens(self, text: str) -> int | None:
        """None: counting remotely would send code that is never part of a question."""
        return None

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Stream a message, tool_use blocks emitted once their input JSON is complete."""
        if self._missing_key:
            raise AuthError(f"no API key for {self._where}", self._hints.auth)
        body = self.payload(request)
        # anthropic>=1 dropped sampling keywords from create(); extra_body puts them in the same place on the wire
        sampling = {key: body.pop(key) for key in ("temperature",) if key in body}
        try:
            yield from self._events(self._client.messages.create(**body, extra_body=sampling or None))
        except anthropic.APIStatusError as exc:
            if exc.status_code < 400:  # an `error` event inside a 200 stream
                raise _stream_error(exc.body, self._where) from exc
            raise transport_error(exc, self._where, self.model, self._hints, self.options.timeout) from exc
        except (anthropic.AnthropicError, *HTTP_ERRORS) as exc:
            raise transport_error(exc, self._where, self.model, self._hints, self.options.timeout) from exc

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request body, exactly as it is sent, cache breakpoints included."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": request.max_output, "stream": True,
                                "messages": to_anthropic_messages(request.messages, request.stable_prefix)}
        if request.system:
            body["system"] = [{"type": "text", "text": request.system, "cache_control": CACHE}]
        temperature = request.temperature if request.temperature is not None else self.options.temperature
        if temperature is not None:
            body["temperature"] = temperature
        if request.tools:
            body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                             for t in request.tools]
        return body

    def _events(self, stream: Any) -> Iterator[StreamEvent]:
        blocks: dict[int, dict[str, str]] = {}
        stop: str | None = None
        for event in stream:
            kind = event.type
            if kind == "message_start":
                u = event.message.usage
                yield Usage(u.input_tokens or 0, 0, getattr(u, "cache_read_input_tokens", 0) or 0)
            elif kind == "content_block_start" and event.content_block.type == "tool_use":
                blocks[event.index] = {"id": event.content_block.id, "name": event.content_block.name,
                                       "arguments": ""}
            elif kind == "content_block_delta":
                if event.delta.type == "text_delta":
                    yield TextDelta(event.delta.text)
                elif event.delta.type == "input_json_delta" and event.index in blocks:
                    blocks[event.index]["arguments"] += event.delta.partial_json
            elif kind == "content_block_stop" and event.index in blocks:
                yield tool_call_event(blocks.pop(event.index), f"toolu_{event.index}")
            elif kind == "message_delta":
                stop = event.delta.stop_reason or stop
                yield Usage(0, event.usage.output_tokens or 0)
            elif kind == "message_stop":
                yield Finished({"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
                               .get(stop or "end_turn", stop or "stop"))
                return
        raise StreamCut(f"{self._where} ended the stream before the answer was complete", "try again")


def _stream_error(body: object, where: str) -> Exception:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    kind, message = error.get("type", ""), error.get("message", str(body))
    if kind == "overloaded_error":
        return ServerError(f"{where} is overloaded: {message}", "try again later", 529)
    if kind == "rate_limit_error":
        return RateLimited(f"{where} is rate-limiting requests: {message}", "wait a moment and try again")
    return StreamCut(f"{where} reported an error mid-answer ({kind or 'unknown'}): {message}", "try again")


def to_anthropic_messages(messages: tuple[Message, ...], stable_prefix: int) -> list[dict[str, Any]]:
    """Messages as content blocks, same-role neighbours merged, the prefix's end marked for caching."""
    out: list[dict[str, Any]] = []
    for number, m in enumerate(messages):
        role = "assistant" if m.role == "assistant" else "user"
        blocks = _blocks(m)
        if number == stable_prefix - 1 and blocks:
            blocks[-1] = {**blocks[-1], "cache_control": CACHE}
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _blocks(m: Message) -> list[dict[str, Any]]:
    if m.role == "tool":
        return [{"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
    return blocks


def create(model: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> Anthropic:
    """The provider for `anthropic:MODEL`."""
    return Anthropic(model, options, base_url, env)
