"""Loopback fakes of the model servers mossen talks to, speaking their real wire formats.

Each fake is a `ThreadingHTTPServer` on 127.0.0.1 (a free port) in a thread,
used as a context manager. It records every request it receives and answers
chat requests from a script, one behaviour per request:

    FakeAnswer(text pieces, tool calls, usage)    a normal streamed answer
    FakeStatus(code, body, headers)               an HTTP error (429, 500, 404 ...)
    FakeCut(answer, after)                        `after` stream units, then the socket closes
    FakeCut(answer, after, clean=True)            `after` stream units, then a well-formed end of body
    FakeHang(seconds)                             nothing for longer than the client waits
    FakeStreamError(answer, after, kind)          Anthropic only: an `error` event mid-stream

When the script runs out, chat requests get `FakeAnswer()`. Streams use
chunked transfer encoding, as real servers do, so a cut is a broken stream and
not a clean end of file. `FakeProxy` is a loopback fake of an HTTP proxy that
only records, to observe whether a process tried to reach the network at all.
`provider_for(fake)` is mossen's real provider pointed at a fake.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

from mossen.providers import open_provider
from mossen.providers.base import ModelOptions, Provider

@dataclass(frozen=True)
class FakeToolCall:
    """A tool call as the fake model writes it; `arguments` is raw text, so it may be broken JSON."""

    name: str
    arguments: str
    id: str = "call_fake_1"


@dataclass(frozen=True)
class FakeAnswer:
    """A normal answer: text in pieces (each its own stream unit), then tool calls, then usage."""

    text: tuple[str, ...] = ("Hello", " from", " the fake.")
    tool_calls: tuple[FakeToolCall, ...] = ()
    input_tokens: int = 42
    output_tokens: int = 7
    cached_tokens: int = 0
    fragment: int = 5  # tool-call arguments are sent in pieces of this many characters


@dataclass(frozen=True)
class FakeStatus:
    """An HTTP error answer."""

    code: int
    body: Any = None  # dict -> JSON, str -> text
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FakeCut:
    """Send the first `after` stream units of `answer`, then close the socket mid-stream
    (or, with `clean`, end the body properly: a stream that stops early without an error)."""

    answer: FakeAnswer = FakeAnswer()
    after: int = 2
    clean: bool = False


@dataclass(frozen=True)
class FakeHang:
    """Accept the request and send nothing for `seconds` (longer than the client's timeout)."""

    seconds: float = 10.0


@dataclass(frozen=True)
class FakeStreamError:
    """Anthropic only: after `after` units, an `error` event (e.g. overloaded_error) ends the stream."""

    answer: FakeAnswer = FakeAnswer()
    after: int = 2
    kind: str = "overloaded_error"
    message: str = "Overloaded"


Behaviour = FakeAnswer | FakeStatus | FakeCut | FakeHang | FakeStreamError


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None


def free_port() -> int:
    """A port nothing listens on, for connection-refused tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_CONNECT(self) -> None:
        self._handle("CONNECT")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        fake = self.server.fake
        fake._record(Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        fake._route(self, method, self.path.split("?")[0], body)

    # What a route may do with the connection.

    def send_json(self, code: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_stream(self, content_type: str, units: list[bytes], cut_after: int | None = None,
                    clean: bool = False) -> None:
        """Each unit as one chunk; with `cut_after`, the stream stops after that many units:
        the socket closes mid-body, or with `clean` the body ends properly."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for number, unit in enumerate(units):
            if cut_after is not None and number >= cut_after:
                self.close_connection = True
                if clean:
                    break
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(unit), unit))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def hang(self, seconds: float) -> None:
        self.server.fake._stopping.wait(seconds)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: "LoopbackFake"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error of the fake
            super().handle_error(request, client_address)


class LoopbackFake:
    """What every loopback fake shares: the server thread, the script and the request log."""

    chat_path = ""

    def __init__(self, script: Iterable[Behaviour] = (), model: str = "fake-model") -> None:
        self.model = model
        self.script: list[Behaviour] = list(script)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)  # quick shutdown

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The address to configure mossen with (base_url or host)."""
        return self.root

    def then(self, *behaviours: Behaviour) -> "LoopbackFake":
        """Append behaviours to the script."""
        with self._lock:
            self.script.extend(behaviours)
        return self

    def chats(self) -> list[Recorded]:
        """The chat requests received, in order."""
        return [r for r in self.requests if r.path.split("?")[0] == self.chat_path]

    def __enter__(self) -> "LoopbackFake":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Behaviour:
        with self._lock:
            return self.script.pop(0) if self.script else FakeAnswer()

    def _play(self, h: _Handler, content_type: str, units: Callable[[FakeAnswer], list[bytes]]) -> None:
        """Answer a chat request with the next scripted behaviour."""
        step = self._next()
        if isinstance(step, FakeHang):
            h.hang(step.seconds)
        elif isinstance(step, FakeStatus):
            h.send_json(step.code, step.body if step.body is not None else {}, step.headers)
        elif isinstance(step, FakeCut):
            h.send_stream(content_type, units(step.answer), cut_after=step.after, clean=step.clean)
        elif isinstance(step, FakeStreamError):
            h.send_stream(content_type, units(step.answer)[: step.after] + [self._error_unit(step)])
        else:
            h.send_stream(content_type, units(step))

    def _error_unit(self, step: FakeStreamError) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} has no mid-stream error event")

    def _route(self, h: _Handler, method: str, path: str, body: Any) -> None:
        raise NotImplementedError


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data) if not isinstance(data, str) else data}\n\n".encode()


class FakeOpenAIServer(LoopbackFake):
    """A loopback fake of an OpenAI-compatible server: /v1/chat/completions (SSE) and /v1/models.

    `n_ctx`, when given, is reported in /v1/models the way llama.cpp's server does.
    Any other path answers 404 (e.g. llama.cpp's /tokenize, which this fake lacks).
    """

    chat_path = "/v1/chat/completions"

    def __init__(self, script: Iterable[Behaviour] = (), model: str = "fake-model", n_ctx: int | None = None) -> None:
        super().__init__(script, model)
        self.n_ctx = n_ctx

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def _route(self, h: _Handler, method: str, path: str, body: Any) -> None:
        if method == "POST" and path == self.chat_path:
            self._play(h, "text/event-stream", self.units)
        elif method == "GET" and path == "/v1/models":
            entry: dict[str, Any] = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}
            if self.n_ctx is not None:
                entry["meta"] = {"n_ctx": self.n_ctx, "n_ctx_train": self.n_ctx * 4}
            h.send_json(200, {"object": "list", "data": [entry]})
        else:
            h.send_json(404, {"error": {"message": f"no route {path}", "type": "not_found_error"}})

    def units(self, answer: FakeAnswer) -> list[bytes]:
        """The SSE lines of one answer: role, text deltas, tool-call fragments, finish, usage, [DONE]."""
        def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
            return _sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                         "model": self.model, "choices": choices, "usage": usage})

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({"content": piece}) for piece in answer.text]
        for index, call in enumerate(answer.tool_calls):
            out.append(chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                              "function": {"name": call.name, "arguments": ""}}]}))
            out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                    for piece in _pieces(call.arguments, answer.fragment)]
        out.append(chunk({}, "tool_calls" if answer.tool_calls else "stop"))
        out.append(chunk(None, usage={
            "prompt_tokens": answer.input_tokens, "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
            "prompt_tokens_details": {"cached_tokens": answer.cached_tokens}}))
        out.append(_sse("[DONE]"))
        return out

    @staticmethod
    def unknown_model(name: str) -> FakeStatus:
        """A 404 as OpenAI words it."""
        message = f"The model `{name}` does not exist or you do not have access to it."
        return FakeStatus(404, {"error": {"message": message,
                                          "type": "invalid_request_error", "param": None, "code": "model_not_found"}})


class FakeOllamaServer(LoopbackFake):
    """A loopback fake of Ollama: /api/chat (NDJSON), /api/show, /api/tags.

    Models outside `models` get a 404 from show and chat, as Ollama answers a
    model that was never pulled. Tool calls arrive whole, with arguments as a
    JSON object: Ollama parses the model's output itself.
    """

    chat_path = "/api/chat"

    def __init__(self, script: Iterable[Behaviour] = (), model: str = "fake-coder:7b",
                 context_length: int = 131072, models: tuple[str, ...] | None = None) -> None:
        super().__init__(script, model)
        self.context_length = context_length
        self.models = models if models is not None else (model,)

    def _route(self, h: _Handler, method: str, path: str, body: Any) -> None:
        asked = (body or {}).get("model") if isinstance(body, dict) else None
        if method == "POST" and path in ("/api/chat", "/api/show") and asked not in self.models:
            missing = self.unknown_model(str(asked))
            h.send_json(missing.code, missing.body)
        elif method == "POST" and path == "/api/chat":
            self._play(h, "application/x-ndjson", lambda a: self.units(a, asked or self.model))
        elif method == "POST" and path == "/api/show":
            h.send_json(200, {
                "license": "", "modelfile": "# fake", "parameters": "stop \"<|im_end|>\"", "template": "{{ .Prompt }}",
                "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                            "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
                "model_info": {"general.architecture": "llama", "general.parameter_count": 7615616512,
                               "llama.context_length": self.context_length, "llama.embedding_length": 3584},
                "capabilities": ["completion", "tools"], "modified_at": "2025-01-01T00:00:00Z"})
        elif method == "GET" and path == "/api/tags":
            h.send_json(200, {"models": [{"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z",
                                          "size": 4683087332, "digest": "0" * 64,
                                          "details": {"format": "gguf", "family": "llama"}} for m in self.models]})
        else:
            h.send_json(404, {"error": f"no route {path}"})

    def units(self, answer: FakeAnswer, model: str) -> list[bytes]:
        """NDJSON lines: content pieces, each tool call whole, then the final line with counts."""
        def line(message: dict[str, Any], **rest: Any) -> bytes:
            return (json.dumps({"model": model, "created_at": "2025-01-01T00:00:00Z",
                                "message": {"role": "assistant", "content": "", **message}, **rest}) + "\n").encode()

        out = [line({"content": piece}, done=False) for piece in answer.text]
        out += [line({"tool_calls": [{"function": {"name": c.name, "arguments": json.loads(c.arguments)}}]}, done=False)
                for c in answer.tool_calls]  # each call in its own line, as a streaming Ollama sends them
        out.append(line({}, done=True, done_reason="stop", total_duration=1000, load_duration=10,
                        prompt_eval_count=answer.input_tokens, eval_count=answer.output_tokens))
        return out

    @staticmethod
    def unknown_model(name: str) -> FakeStatus:
        """A 404 as Ollama words it."""
        return FakeStatus(404, {"error": f"model '{name}' not found"})


class FakeAnthropicServer(LoopbackFake):
    """A loopback fake of Anthropic's Messages API: POST /v1/messages as SSE events."""

    chat_path = "/v1/messages"

    def _route(self, h: _Handler, method: str, path: str, body: Any) -> None:
        if method == "POST" and path == self.chat_path:
            self._play(h, "text/event-stream", self.units)
        else:
            h.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"no route {path}"}})

    def units(self, answer: FakeAnswer) -> list[bytes]:
        """message_start, a text block, tool_use blocks with input_json_delta pieces, message_delta, message_stop."""
        def event(kind: str, **data: Any) -> bytes:
            return _sse({"type": kind, **data}, kind)

        out = [event("message_start", message={
            "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1,
                      "cache_read_input_tokens": answer.cached_tokens, "cache_creation_input_tokens": 0}})]
        index = 0
        if answer.text:
            out.append(event("content_block_start", index=0, content_block={"type": "text", "text": ""}))
            out.append(_sse({"type": "ping"}, "ping"))
            out += [event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
                    for piece in answer.text]
            out.append(event("content_block_stop", index=0))
            index = 1
        for number, call in enumerate(answer.tool_calls, index):
            out.append(event("content_block_start", index=number,
                             content_block={"type": "tool_use", "id": call.id, "name": call.name, "input": {}}))
            out += [event("content_block_delta", index=number,
                          delta={"type": "input_json_delta", "partial_json": piece})
                    for piece in _pieces(call.arguments, answer.fragment)]
            out.append(event("content_block_stop", index=number))
        out.append(event("message_delta", delta={"stop_reason": "tool_use" if answer.tool_calls else "end_turn",
                                                  "stop_sequence": None},
                         usage={"output_tokens": answer.output_tokens}))
        out.append(event("message_stop"))
        return out

    def _error_unit(self, step: FakeStreamError) -> bytes:
        return _sse({"type": "error", "error": {"type": step.kind, "message": step.message}}, "error")

    @staticmethod
    def unknown_model(name: str) -> FakeStatus:
        """A 404 as Anthropic words it."""
        return FakeStatus(404, {"type": "error", "error": {"type": "not_found_error", "message": f"model: {name}"}})


class FakeProxy(LoopbackFake):
    """A loopback fake of an HTTP(S) proxy that records every request (CONNECT included) and refuses it.

    Pointing HTTPS_PROXY/HTTP_PROXY at it shows whether a process tried to reach
    the network at all, without any traffic leaving the machine.
    """

    def _route(self, h: _Handler, method: str, path: str, body: Any) -> None:
        h.send_json(403, "the fake proxy forwards nothing")
        h.close_connection = True


FAKES: dict[str, type[LoopbackFake]] = {"openai": FakeOpenAIServer, "ollama": FakeOllamaServer,
                                        "anthropic": FakeAnthropicServer}


def provider_at(kind: str, url: str, model: str, **options: Any) -> Provider:
    """mossen's real provider of `kind` for `model` at `url` (no API key: the fakes are on loopback)."""
    return open_provider(f"{kind}:{model}", ModelOptions(**options), url, {})


def provider_for(fake: LoopbackFake, **options: Any) -> Provider:
    """mossen's real provider for the kind of server `fake` imitates, pointed at it."""
    kind = next(name for name, cls in FAKES.items() if isinstance(fake, cls))
    return provider_at(kind, fake.url, fake.model, **options)
