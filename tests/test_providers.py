"""Each provider against a loopback fake of its server, through the real official client.

What streams back (text in order, tool calls whole, usage) and what goes out
(the exact body, num_ctx, cache breakpoints, tools) are checked on the wire.
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from mossen.providers.base import (
    ChatRequest, Finished, MalformedToolCall, Message, Provider, StreamEvent, TextDelta, ToolCall,
    ToolCallEvent, ToolSpec, Usage,
)
from tests.loopback_fakes import (
    FAKES, FakeAnswer, FakeAnthropicServer, FakeOllamaServer, FakeOpenAIServer, FakeToolCall, LoopbackFake,
    provider_for,
)

READ_FILE = ToolSpec("read_file", "Read a file of the repository.",
                     {"type": "object", "properties": {"path": {"type": "string"}, "start": {"type": "integer"}},
                      "required": ["path"]})
CONTEXT = "Code from the repository:\n\nsrc/pool.py:1-3\n```python\ndef acquire(host):\n    return host\n```\n"
REQUEST = ChatRequest("You answer questions about code.",
                      (Message("user", CONTEXT), Message("user", "What does acquire do?")),
                      tools=(READ_FILE,), max_output=256, stable_prefix=1)


def events(provider: Provider, request: ChatRequest = REQUEST) -> list[StreamEvent]:
    return list(provider.stream(request))


def of_type(found: list[StreamEvent], kind: type) -> list:
    return [e for e in found if isinstance(e, kind)]


@pytest.fixture(params=sorted(FAKES))
def fake(request: pytest.FixtureRequest) -> Iterator[LoopbackFake]:
    with FAKES[request.param]() as server:
        yield server


def test_text_arrives_as_pieces_in_order(fake: LoopbackFake) -> None:
    pieces = ("`acquire`", " takes a", " session", " from the pool.")
    fake.then(FakeAnswer(text=pieces))
    found = events(provider_for(fake))
    assert [e.text for e in of_type(found, TextDelta)] == list(pieces)
    assert found[-1] == Finished("stop")


def test_tool_calls_split_on_the_wire_arrive_whole_and_parsed(fake: LoopbackFake) -> None:
    calls = (FakeToolCall("read_file", '{"path": "src/pool.py", "start": 10}', "call_a"),
             FakeToolCall("read_file", '{"path": "src/net/session.py"}', "call_b"))
    fake.then(FakeAnswer(text=("Let me look.",), tool_calls=calls, fragment=4))
    found = events(provider_for(fake))
    got = [e.call for e in of_type(found, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in got] == [("read_file", {"path": "src/pool.py", "start": 10}),
                                                    ("read_file", {"path": "src/net/session.py"})]
    assert len({c.id for c in got}) == 2  # results must be matched to their call
    assert of_type(found, MalformedToolCall) == []
    assert found[-1] == Finished("tool_calls")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])  # Ollama parses arguments itself: never broken JSON
@pytest.mark.parametrize("raw", ['{"path": "src/pool.py"', '["src/pool.py"]'])
def test_broken_tool_arguments_give_a_malformed_call_never_a_tool_call(kind: str, raw: str) -> None:
    with FAKES[kind]([FakeAnswer(text=(), tool_calls=(FakeToolCall("read_file", raw, "call_x"),), fragment=3)]) as fake:
        found = events(provider_for(fake))
    assert of_type(found, ToolCallEvent) == []
    [bad] = of_type(found, MalformedToolCall)
    assert (bad.id, bad.name, bad.raw_arguments) == ("call_x", "read_file", raw)
    assert "JSON" in bad.reason


def test_usage_is_reported(fake: LoopbackFake) -> None:
    cached = 0 if isinstance(fake, FakeOllamaServer) else 30  # Ollama reports no cache
    fake.then(FakeAnswer(input_tokens=1234, output_tokens=56, cached_tokens=cached))
    total = sum(of_type(events(provider_for(fake)), Usage), Usage())
    assert total == Usage(1234, 56, cached)


def test_payload_is_exactly_what_the_server_received(fake: LoopbackFake) -> None:
    call = ToolCall("call_a", "read_file", {"path": "src/pool.py"})
    conversation = REQUEST.messages + (
        Message("assistant", "", (call,)),
        Message("tool", "def acquire(host): ...", tool_call_id="call_a", name="read_file"),
        Message("user", "And close_idle?"))
    request = ChatRequest(REQUEST.system, conversation, REQUEST.tools, max_output=300, temperature=0.2, stable_prefix=1)
    provider = provider_for(fake)
    events(provider, request)
    [sent] = fake.chats()
    assert sent.body == provider.payload(request)


def test_openai_body_carries_the_tools_in_openai_format() -> None:
    with FakeOpenAIServer() as fake:
        events(provider_for(fake))
    body = fake.chats()[0].body
    assert body["tools"] == [{"type": "function", "function": {
        "name": "read_file", "description": "Read a file of the repository.", "parameters": READ_FILE.parameters}}]
    assert body["messages"][0] == {"role": "system", "content": "You answer questions about code."}
    assert body["stream_options"] == {"include_usage": True}  # without it no usage arrives
    assert body["max_tokens"] == 256  # a local server: max_completion_tokens is OpenAI's own name


def test_openai_window_of_a_local_server_comes_from_its_model_listing() -> None:
    with FakeOpenAIServer(n_ctx=16384) as fake:
        limits = provider_for(fake).limits()
    assert limits.context_window == 16384
    assert [r.path for r in fake.requests] == ["/v1/models"]


@pytest.mark.parametrize("advertised, expected", [(131072, 32768), (8192, 8192)])
def test_ollama_num_ctx_is_the_shown_context_length_capped(advertised: int, expected: int) -> None:
    with FakeOllamaServer(context_length=advertised) as fake:
        events(provider_for(fake))
    assert fake.requests[0].path == "/api/show" and fake.requests[0].body == {"model": fake.model}
    assert fake.chats()[0].body["options"]["num_ctx"] == expected


def test_ollama_num_ctx_follows_context_length_from_options_without_asking_show() -> None:
    with FakeOllamaServer(context_length=131072) as fake:
        provider = provider_for(fake, context_length=65536)
        events(provider)
    assert fake.chats()[0].body["options"]["num_ctx"] == 65536
    assert [r.path for r in fake.requests] == ["/api/chat"]


def test_ollama_lists_its_models() -> None:
    with FakeOllamaServer(models=("qwen2.5-coder:7b", "fake-coder:7b")) as fake:
        assert provider_for(fake).models() == ["fake-coder:7b", "qwen2.5-coder:7b"]


def test_anthropic_caches_the_system_prompt_and_the_stable_prefix() -> None:
    followup = REQUEST.messages + (Message("assistant", "It takes a session."), Message("user", "And close_idle?"))
    request = ChatRequest(REQUEST.system, followup, max_output=256, stable_prefix=1)
    with FakeAnthropicServer() as fake:
        events(provider_for(fake), request)
    body = fake.chats()[0].body
    assert body["system"] == [{"type": "text", "text": REQUEST.system, "cache_control": {"type": "ephemeral"}}]
    # the context and the question were two user messages: one user turn, the context block cached
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    first = body["messages"][0]["content"]
    assert first == [{"type": "text", "text": CONTEXT, "cache_control": {"type": "ephemeral"}},
                     {"type": "text", "text": "What does acquire do?"}]
    assert json.dumps(body).count("cache_control") == 2
