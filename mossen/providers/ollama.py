"""Ollama, through the official `ollama` client: OLLAMA_HOST, model listing, num_ctx from `show`."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

import httpx
import ollama

from mossen.errors import StreamCut
from mossen.providers.base import (
    ChatRequest, Finished, Message, ModelLimits, ModelOptions, StreamEvent, TextDelta, Usage,
)
from mossen.providers.http_errors import Hints, status_error, transport_error, unreachable
from mossen.providers.locality import is_local_endpoint
from mossen.providers.openai_compat import tool_call_event

DEFAULT_HOST = "http://127.0.0.1:11434"
# A model may advertise 128k tokens; a num_ctx that large needs many GB of RAM on
# the user's machine, so the window is capped unless context_length is set.
DEFAULT_MAX_WINDOW = 32_768
FALLBACK_WINDOW = 4096
DEFAULT_MAX_OUTPUT = 1024


def normalise_host(host: str | None) -> str:
    """OLLAMA_HOST forms (`0.0.0.0`, `host:port`, `https://h`) as a base URL."""
    host = (host or "").strip() or DEFAULT_HOST
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    name = parts.hostname or "127.0.0.1"
    if name == "0.0.0.0":  # the server listens everywhere; the client talks to this machine
        name = "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    return f"{parts.scheme}://{name}:{port}{parts.path.rstrip('/')}"


class Ollama:
    """A model served by Ollama."""

    def __init__(self, model: str, options: ModelOptions, host: str | None, env: Mapping[str, str]) -> None:
        self.model, self.options = model, options
        self.name = f"ollama:{model}"
        self.endpoint = normalise_host(host or env.get("OLLAMA_HOST"))
        self._where = f"Ollama at {self.endpoint}"
        # A proxy from the environment (HTTP_PROXY) would carry a local model's prompt off the machine.
        self._client = ollama.Client(host=self.endpoint, timeout=options.timeout,
                                     trust_env=not is_local_endpoint(self.endpoint))
        self._limits: ModelLimits | None = None
        self._hints = Hints(
            unreachable="start Ollama (`ollama serve`) or set OLLAMA_HOST (or [ollama] host) to where it runs",
            auth="set OLLAMA_API_KEY if this Ollama server requires one",
            unknown_model=f"pull it with `ollama pull {model}`, or pick one of `ollama list`",
        )

    def limits(self) -> ModelLimits:
        """Window from config, else the model's context length as `show` reports it (capped)."""
        if self._limits is None:
            window = self.options.context_length or min(self._advertised_window(), DEFAULT_MAX_WINDOW)
            self._limits = ModelLimits(window, self.options.max_output or min(DEFAULT_MAX_OUTPUT, window // 4))
        return self._limits

    def count_tokens(self, text: str) -> int | None:
        """Ollama has no tokenize endpoint: None, the caller estimates."""
        return None

    def models(self) -> list[str]:
        """The models this Ollama server has."""
        with self._errors():
            return sorted(m.model or "" for m in self._client.list().models)

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Stream a chat with num_ctx set to the window mossen budgets for."""
        with self._errors():
            parts = self._client.chat(**self.payload(request))
            done = False
            calls = 0  # numbered across parts: a streaming Ollama sends each tool call in its own part
            for part in parts:
                if part.message.content:
                    yield TextDelta(part.message.content)
                for call in part.message.tool_calls or []:
                    yield tool_call_event({"id": f"call_{calls}", "name": call.function.name,
                                           "arguments": _json(call.function.arguments)}, f"call_{calls}")
                    calls += 1
                if part.done:
                    done = True
                    yield Usage(part.prompt_eval_count or 0, part.eval_count or 0)
                    yield Finished("tool_calls" if calls else part.done_reason or "stop")
            if not done:
                raise StreamCut(f"{self._where} ended the stream before the answer was complete", "try again")

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request, exactly as the client sends it."""
        options: dict[str, Any] = {"num_ctx": self.limits().context_window, "num_predict": request.max_output}
        temperature = request.temperature if request.temperature is not None else self.options.temperature
        if temperature is not None:
            options["temperature"] = temperature
        body: dict[str, Any] = {"model": self.model, "messages": _messages(request), "stream": True,
                                "options": options}
        # always present: the client sends `"tools": []` when there are none
        body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                           "parameters": t.parameters}} for t in request.tools]
        return body

    def _advertised_window(self) -> int:
        with self._errors():
            shown = self._client.show(self.model)
        for key, value in (shown.modelinfo or {}).items():
            if key.endswith(".context_length") and isinstance(value, int):
                return value
        return FALLBACK_WINDOW

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The client's exceptions as mossen's provider errors."""
        try:
            yield
        except ollama.ResponseError as exc:
            if exc.status_code == 404 or "not found" in str(exc.error).lower():
                raise status_error(404, exc.error, {}, self._where, self.model, self._hints) from exc
            if exc.status_code >= 400:
                raise status_error(exc.status_code, exc.error, {}, self._where, self.model, self._hints) from exc
            raise StreamCut(f"{self._where} reported an error mid-answer: {exc.error}", "try again") from exc
        except ConnectionError as exc:
            raise unreachable(self._where, "connection refused", self._hints) from exc
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._where, self.model, self._hints, self.options.timeout) from exc


def _json(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for m in request.messages:
        out.append(_message(m))
    return out


def _message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        item: dict[str, Any] = {"role": "tool", "content": m.content, "tool_name": m.name or ""}
    else:
        item = {"role": m.role, "content": m.content}
    if m.tool_calls:
        item["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    return {key: value for key, value in item.items() if value}  # the client drops empty fields before sending


def create(model: str, options: ModelOptions, host: str | None, env: Mapping[str, str]) -> Ollama:
    """The provider for `ollama:MODEL`."""
    return Ollama(model, options, host, env)
