"""Any OpenAI-compatible server (OpenAI, llama.cpp server, vLLM, LM Studio) through the `openai` client."""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

import httpx
import openai

from mossen.errors import AuthError, StreamCut
from mossen.providers.base import (
    ChatRequest, Finished, MalformedToolCall, Message, ModelLimits, ModelOptions, StreamEvent, TextDelta,
    ToolCall, ToolCallEvent, Usage,
)
from mossen.providers.http_errors import HTTP_ERRORS, Hints, transport_error
from mossen.providers.locality import is_local_endpoint

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_WINDOW = 8192  # an unknown local server: assume a modest window unless told
DEFAULT_MAX_OUTPUT = 1024
# Windows of OpenAI's own models by name prefix, longest prefix first.
KNOWN_WINDOWS = (("gpt-4.1", 1_047_576), ("gpt-5", 400_000), ("gpt-4o", 128_000), ("o4", 200_000),
                 ("o3", 200_000), ("gpt-4-turbo", 128_000), ("gpt-3.5", 16_385))


class OpenAICompatible:
    """A chat model behind an OpenAI-compatible /v1/chat/completions endpoint."""

    def __init__(self, model: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> None:
        self.model, self.options = model, options
        self.name = f"openai:{model}"
        self.endpoint = (base_url or env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._where = f"the OpenAI-compatible server at {self.endpoint}"
        key = env.get("OPENAI_API_KEY")
        self._missing_key = not key and not is_local_endpoint(self.endpoint)
        # A proxy from the environment (HTTP_PROXY) would carry a local model's unredacted prompt off the machine.
        direct = openai.DefaultHttpxClient(trust_env=False) if is_local_endpoint(self.endpoint) else None
        self._client = openai.OpenAI(api_key=key or "not-needed", base_url=self.endpoint, max_retries=0,
                                     timeout=options.timeout, http_client=direct)
        self._hints = Hints(
            unreachable=f"start the server (e.g. `python -m llama_cpp.server --model M.gguf`) or point "
                        f"OPENAI_BASE_URL (or [openai] base_url) at it; now {self.endpoint}",
            auth="set OPENAI_API_KEY to a valid key for this server",
            unknown_model="check the model name: the server lists its models at /v1/models",
        )
        self._tokenize_url: str | None | bool = None  # None: not probed yet; False: the server cannot

    def limits(self) -> ModelLimits:
        """Window from config, else OpenAI's published windows, else what a llama.cpp server reports."""
        window = self.options.context_length or _known_window(self.model) or self._server_window() or DEFAULT_WINDOW
        return ModelLimits(window, self.options.max_output or min(DEFAULT_MAX_OUTPUT, window // 4))

    def count_tokens(self, text: str) -> int | None:
        """The server's own count, where a local server offers one (llama.cpp's /tokenize)."""
        if self._tokenize_url is False or not is_local_endpoint(self.endpoint):
            return None
        for url in ([self._tokenize_url] if self._tokenize_url else self._tokenize_candidates()):
            try:
                reply = httpx.post(url, json={"content": text, "input": text, "model": self.model}, timeout=10,
                                   trust_env=False)  # local only: never through a proxy
                tokens = reply.json().get("tokens") if reply.status_code == 200 else None
            except (httpx.HTTPError, ValueError, AttributeError):
                tokens = None
            if isinstance(tokens, list):
                self._tokenize_url = url
                return len(tokens)
        self._tokenize_url = False
        return None

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Stream a chat completion, tool calls assembled from their fragments."""
        if self._missing_key:
            raise AuthError(f"no API key for {self._where}", "set OPENAI_API_KEY (or use a local model)")
        try:
            reply = self._client.chat.completions.create(**self.payload(request))
            yield from _events(reply) if self.options.streaming else _whole_reply_events(reply)
        except (openai.OpenAIError, *HTTP_ERRORS) as exc:
            raise transport_error(exc, self._where, self.model, self._hints, self.options.timeout) from exc

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request body, exactly as it is sent."""
        body: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(request),
                                "stream": self.options.streaming}
        if self.options.streaming:
            body["stream_options"] = {"include_usage": True}
        cap = "max_completion_tokens" if urlsplit(self.endpoint).hostname == "api.openai.com" else "max_tokens"
        body[cap] = request.max_output
        temperature = request.temperature if request.temperature is not None else self.options.temperature
        if temperature is not None:
            body["temperature"] = temperature
        if request.tools:
            body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters}} for t in request.tools]
            body["tool_choice"] = "auto"  # OpenAI's default, but llama-cpp-python reads a missing one as "none"
        return body

    def _server_window(self) -> int | None:
        """n_ctx as a llama.cpp server reports it in /v1/models, when the endpoint is local."""
        if self.options.context_length or not is_local_endpoint(self.endpoint):
            return None
        try:
            for model in self._client.models.list().data:
                meta = getattr(model, "meta", None) or {}
                for key in ("n_ctx", "n_ctx_train"):
                    if isinstance(meta.get(key), int):
                        return meta[key]
        except (openai.OpenAIError, httpx.HTTPError):
            return None
        return None

    def _tokenize_candidates(self) -> list[str]:
        root = self.endpoint.removesuffix("/v1")
        return [f"{root}/extras/tokenize", f"{root}/tokenize"]


def _known_window(model: str) -> int | None:
    return next((w for prefix, w in KNOWN_WINDOWS if model.startswith(prefix)), None)


def to_openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The system prompt and conversation in OpenAI's chat format."""
    out: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        out.append(_message(message))
    return out


def _message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    item: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        item["tool_calls"] = [{"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                              for c in m.tool_calls]
    return item


def _events(chunks: Any) -> Iterator[StreamEvent]:
    """Stream chunks as events; tool calls only once complete, and only if the stream finished."""
    pending: dict[int, dict[str, str]] = {}
    finish: str | None = None
    for chunk in chunks:
        if chunk.usage is not None:
            details = getattr(chunk.usage, "prompt_tokens_details", None)
            yield Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0,
                        getattr(details, "cached_tokens", 0) or 0)
        for choice in chunk.choices:
            delta = choice.delta
            if delta is not None and delta.content:
                yield TextDelta(delta.content)
            for part in (delta.tool_calls or []) if delta is not None else []:
                slot = pending.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = part.id or slot["id"]
                if part.function is not None:
                    slot["name"] += part.function.name or ""
                    slot["arguments"] += part.function.arguments or ""
            finish = choice.finish_reason or finish
    if finish is None:
        raise StreamCut("the server ended the stream before the answer was complete", "try again")
    for index in sorted(pending):
        yield tool_call_event(pending[index], f"call_{index}")
    yield Finished("tool_calls" if pending else finish)


def _whole_reply_events(reply: Any) -> Iterator[StreamEvent]:
    """A non-streamed completion (`streaming = false`, for servers that cannot stream tool calls) as events."""
    if reply.usage is not None:
        yield Usage(reply.usage.prompt_tokens or 0, reply.usage.completion_tokens or 0)
    choice = reply.choices[0] if reply.choices else None
    if choice is None:
        raise StreamCut("the server answered with no choice", "try again")
    if choice.message.content:
        yield TextDelta(choice.message.content)
    calls = choice.message.tool_calls or []
    for number, call in enumerate(calls):
        yield tool_call_event({"id": call.id, "name": call.function.name, "arguments": call.function.arguments},
                              f"call_{number}")
    yield Finished("tool_calls" if calls else choice.finish_reason or "stop")


def tool_call_event(slot: Mapping[str, str], fallback_id: str) -> ToolCallEvent | MalformedToolCall:
    """A complete tool call from its accumulated name and JSON arguments, or why it cannot run."""
    call_id, name, raw = slot.get("id") or fallback_id, slot.get("name", ""), slot.get("arguments", "")
    if not name:
        return MalformedToolCall(call_id, name, raw, "the tool call has no name")
    try:
        arguments = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        return MalformedToolCall(call_id, name, raw, f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return MalformedToolCall(call_id, name, raw, "arguments must be a JSON object")
    return ToolCallEvent(ToolCall(call_id, name, arguments))


def create(model: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> OpenAICompatible:
    """The provider for `openai:MODEL`."""
    return OpenAICompatible(model, options, base_url, env)
